/**
 * Catches a statement handed to a pg client that is still running another:
 * athanor queues a holder's statements itself, so pg never has to (pg warns
 * about it only once per process, which a test cannot rely on).
 */
import pg from 'pg'

interface ClientInternals {
  query(...args: unknown[]): unknown
  _getActiveQuery(): unknown
  _queryQueue: unknown[]
}

/** Records every `client.query()` made while that client was busy, until `stop()`. */
export function watchDriverQueueing(): { readonly seen: string[]; stop(): void } {
  const proto = pg.Client.prototype as unknown as ClientInternals
  const original = proto.query
  const seen: string[] = []
  proto.query = function (this: ClientInternals, ...args: unknown[]) {
    if (this._getActiveQuery() || this._queryQueue.length > 0) {
      const first = args[0]
      seen.push(typeof first === 'string' ? first : String((first as { text?: unknown } | null)?.text))
    }
    return original.apply(this, args)
  }
  return { seen, stop: () => void (proto.query = original) }
}
