import { athanorContender } from './support/uow-athanor.js'
import { authorsToCreate } from './support/uow-workload.js'
const c = athanorContender()
const which = process.env.W ?? 'insert'
for (let i = 0; i < 6; i++) {
  await c.reset()
  const input = authorsToCreate()
  let t = performance.now()
  await c.insert(input)
  const ins = performance.now() - t
  t = performance.now()
  await c.update()
  const upd = performance.now() - t
  t = performance.now()
  await c.remove()
  console.log('insert', ins.toFixed(0), 'update', upd.toFixed(0), 'remove', (performance.now() - t).toFixed(0))
}
await c.close()
