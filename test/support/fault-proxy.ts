/**
 * A TCP proxy that sits between a pool and a real database server and breaks
 * the network on command: cut every connection (RST), stall traffic without
 * closing anything (a half-open partition), delay it, or refuse new
 * connections. Tests point the engine at `proxy.port` and drive the faults.
 *
 * ```ts
 * const proxy = await startFaultProxy({ host: '127.0.0.1', port: 5432 })
 * const engine = createEngine(proxy.rewrite('postgresql://postgres@127.0.0.1:5432/test'))
 * proxy.stall()          // queries now hang; sockets stay open
 * proxy.pass()           // queued bytes flow again
 * proxy.cutAll()         // every connection gets a TCP RST
 * await proxy.close()
 * ```
 */
import net from 'node:net'

/** What the proxy does with traffic and with new connections. */
export type FaultMode =
  /** Forward everything (after `delayMs`, if set). */
  | 'pass'
  /** Forward nothing in either direction; keep every socket open (half-open). */
  | 'stall'
  /** Reset each new connection at once; existing ones keep flowing. */
  | 'refuse'

/** Socket counts: what a test asserts to prove nothing leaked. */
export interface ProxySocketCounts {
  /** Client-side sockets (pool → proxy) still open. */
  readonly client: number
  /** Server-side sockets (proxy → database) still open. */
  readonly server: number
  /** Client connections accepted since start (refused ones included). */
  readonly accepted: number
  /** Client connections reset by `refuse` mode. */
  readonly refused: number
}

/** A running proxy. All methods are synchronous except `close` and `waitForSockets`. */
export interface FaultProxy {
  readonly host: string
  readonly port: number
  /** The current mode. */
  readonly mode: FaultMode
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string
  /** Forward traffic again; bytes queued while stalled are delivered in order. */
  pass(): void
  /** Stop forwarding in both directions without closing any socket. */
  stall(): void
  /** Hold each chunk this many ms before forwarding it (0 = no delay). Order is kept. */
  delay(ms: number): void
  /** Reset every new connection at once (existing ones are untouched). */
  refuse(): void
  /** Reset (TCP RST) every open connection, both sides. New ones are still accepted. */
  cutAll(): void
  counts(): ProxySocketCounts
  /**
   * Resolves when at most `max` sockets are open on each side; rejects after
   * `timeoutMs` (default 15 s: a wait for progress, generous for a busy machine).
   */
  waitForSockets(max: number, timeoutMs?: number): Promise<void>
  /** Resets every connection and stops listening. */
  close(): Promise<void>
}

/** Where the proxy forwards to. */
export interface FaultProxyTarget {
  readonly host: string
  readonly port: number
}

/** One direction of one connection: an ordered queue of chunks on their way. */
interface Lane {
  readonly to: net.Socket
  readonly queue: { chunk: Buffer; due: number }[]
  timer: NodeJS.Timeout | undefined
  ended: boolean
}

interface Link {
  readonly client: net.Socket
  server: net.Socket | undefined
  up: Lane | undefined
  down: Lane | undefined
  readonly pendingUp: Buffer[]
  clientEnded: boolean
  dead: boolean
}

/**
 * Starts a proxy on 127.0.0.1 (an ephemeral port) forwarding to `target`.
 *
 * ```ts
 * const proxy = await startFaultProxy(PG)
 * ```
 */
export async function startFaultProxy(target: FaultProxyTarget): Promise<FaultProxy> {
  let mode: FaultMode = 'pass'
  let delayMs = 0
  let accepted = 0
  let refused = 0
  const links = new Set<Link>()
  const clientSockets = new Set<net.Socket>()
  const serverSockets = new Set<net.Socket>()

  const kill = (link: Link, reset: boolean): void => {
    if (link.dead) return
    link.dead = true
    for (const lane of [link.up, link.down]) if (lane?.timer) clearTimeout(lane.timer)
    for (const s of [link.client, link.server]) {
      if (!s || s.destroyed) continue
      // An RST is what a pool sees when a server dies or a firewall drops state.
      // Not on a socket whose write side was already ended (a FIN passed on):
      // libuv refuses that reset, and Node then never emits 'close' for it, so
      // the socket would be counted as open for ever.
      if (reset && typeof s.resetAndDestroy === 'function' && !s.connecting && !s.writableEnded) s.resetAndDestroy()
      else s.destroy()
    }
    links.delete(link)
  }

  /** The far side closed cleanly: deliver what is queued, then end this side. */
  const finish = (link: Link, lane: Lane): void => {
    lane.ended = true
    pump(lane)
    if (link.client.destroyed && (!link.server || link.server.destroyed)) {
      link.dead = true
      links.delete(link)
    }
  }

  const pump = (lane: Lane): void => {
    if (lane.timer) return
    while (lane.queue.length > 0) {
      if (mode === 'stall' || lane.to.destroyed) return
      const head = lane.queue[0]
      const wait = head.due - Date.now()
      if (wait > 0) {
        lane.timer = setTimeout(() => {
          lane.timer = undefined
          pump(lane)
        }, wait)
        return
      }
      lane.queue.shift()
      lane.to.write(head.chunk)
    }
    if (lane.ended && !lane.to.destroyed) lane.to.end()
  }

  const makeLane = (from: net.Socket, to: net.Socket): Lane => {
    const lane: Lane = { to, queue: [], timer: undefined, ended: false }
    from.on('data', (chunk: Buffer) => {
      lane.queue.push({ chunk, due: Date.now() + delayMs })
      pump(lane)
    })
    from.on('end', () => {
      lane.ended = true
      pump(lane)
    })
    return lane
  }

  const connectUpstream = (link: Link): void => {
    const server = net.connect({ host: target.host, port: target.port })
    link.server = server
    serverSockets.add(server)
    server.setNoDelay(true)
    server.on('close', (hadError) => {
      serverSockets.delete(server)
      // A clean close (the server ended the session) reaches the client as a FIN, after its bytes.
      if (hadError || !link.down) kill(link, true)
      else finish(link, link.down)
    })
    server.on('error', () => kill(link, true))
    link.down = makeLane(server, link.client)
    link.up = { to: server, queue: [], timer: undefined, ended: link.clientEnded }
    for (const chunk of link.pendingUp.splice(0)) link.up.queue.push({ chunk, due: Date.now() + delayMs })
    pump(link.up)
  }

  const server = net.createServer({ pauseOnConnect: false }, (client) => {
    accepted++
    if (mode === 'refuse') {
      refused++
      client.on('error', () => {})
      client.resetAndDestroy()
      return
    }
    clientSockets.add(client)
    client.setNoDelay(true)
    const link: Link = {
      client,
      server: undefined,
      up: undefined,
      down: undefined,
      pendingUp: [],
      clientEnded: false,
      dead: false,
    }
    links.add(link)
    client.on('close', (hadError) => {
      clientSockets.delete(client)
      if (hadError || !link.up) kill(link, true)
      else finish(link, link.up)
    })
    client.on('error', () => kill(link, true))
    // Until the upstream socket exists, client bytes wait here; the lane takes them over.
    client.on('data', (chunk: Buffer) => {
      if (link.up) {
        link.up.queue.push({ chunk, due: Date.now() + delayMs })
        pump(link.up)
      } else link.pendingUp.push(chunk)
    })
    client.on('end', () => {
      link.clientEnded = true
      if (link.up) {
        link.up.ended = true
        pump(link.up)
      }
    })
    // A partition also hides the server: connect upstream only once traffic flows.
    if (mode !== 'stall') connectUpstream(link)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as net.AddressInfo).port

  /** The state of each open link, for a failure message. */
  const describeLinks = (): string => {
    const side = (sock: net.Socket | undefined): string =>
      sock === undefined ? 'none' : sock.destroyed ? 'destroyed' : sock.connecting ? 'connecting' : sock.readyState
    const lane = (l: Lane | undefined): string => (l === undefined ? 'none' : `${l.queue.length} queued${l.ended ? ', ended' : ''}${l.timer ? ', timer' : ''}`)
    const forgotten = [...serverSockets, ...clientSockets].filter((sock) => ![...links].some((l) => l.server === sock || l.client === sock))
    return (
      [...links].map((l) => `{client ${side(l.client)}, server ${side(l.server)}, up ${lane(l.up)}, down ${lane(l.down)}}`).join(' ') +
      (forgotten.length > 0 ? ` + ${forgotten.length} socket(s) of dead links (${forgotten.map(side).join(', ')})` : '') +
      ` (mode ${mode})`
    )
  }

  const flowAll = (): void => {
    for (const link of links) {
      if (link.dead) continue
      if (!link.server) connectUpstream(link)
      if (link.up) pump(link.up)
      if (link.down) pump(link.down)
    }
  }

  const proxy: FaultProxy = {
    host: '127.0.0.1',
    port,
    get mode() {
      return mode
    },
    rewrite(url) {
      const m = /^([a-z0-9+]+:\/\/)([^/?#]*)(.*)$/i.exec(url)
      if (!m) throw new Error(`fault proxy: cannot rewrite ${url}`)
      const at = m[2].lastIndexOf('@')
      const userinfo = at >= 0 ? m[2].slice(0, at + 1) : ''
      return `${m[1]}${userinfo}127.0.0.1:${port}${m[3]}`
    },
    pass() {
      mode = 'pass'
      flowAll()
    },
    stall() {
      mode = 'stall'
    },
    delay(ms) {
      delayMs = Math.max(0, ms)
    },
    refuse() {
      mode = 'refuse'
      flowAll()
    },
    cutAll() {
      for (const link of [...links]) kill(link, true)
    },
    counts() {
      return { client: clientSockets.size, server: serverSockets.size, accepted, refused }
    },
    async waitForSockets(max, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      while (clientSockets.size > max || serverSockets.size > max) {
        if (Date.now() > deadline) {
          throw new Error(
            `fault proxy: ${clientSockets.size} client and ${serverSockets.size} server sockets still open after ${timeoutMs} ms (expected <= ${max}); links: ${describeLinks()}`,
          )
        }
        await new Promise((r) => setTimeout(r, 10))
      }
    },
    async close() {
      for (const link of [...links]) kill(link, true)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // 'close' events come a tick after destroy() (later on a busy machine); wait
      // so counts() reads 0 afterwards.
      for (let i = 0; i < 3000 && clientSockets.size + serverSockets.size > 0; i++) {
        await new Promise((r) => setTimeout(r, 5))
      }
      await closed
    },
  }
  return proxy
}
