/**
 * Fails any test file during which pg printed "Calling client.query() when
 * the client is already executing a query is deprecated": a statement was
 * sent on a connection still running another, which athanor must never do
 * (it queues a holder's statements itself and checks a connection in only
 * when its holder's statements are done).
 */
import { afterAll } from 'vitest'

const seen: string[] = []
const listener = (warning: Error): void => {
  if (warning.message.includes('already executing a query')) seen.push(warning.stack ?? warning.message)
}
process.on('warning', listener)

afterAll(async () => {
  // Warnings are emitted on a later tick.
  await new Promise((resolve) => setImmediate(resolve))
  process.off('warning', listener)
  if (seen.length > 0) throw new Error(`pg had to queue a statement behind a running one:\n${seen[0]}`)
})
