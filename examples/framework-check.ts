/**
 * What the framework examples share: the requests of their `--check` run,
 * and the command line (`[url] [--check]`).
 */
import type http from 'node:http'
import type { AddressInfo } from 'node:net'

/** A started example app. */
export interface ExampleApp {
  readonly port: number
  close(): Promise<void>
}

/** Listens on 127.0.0.1:`port`; `close` ends the connections, the server, then calls `dispose`. */
export async function serve(server: http.Server, port: number, dispose: () => Promise<void>): Promise<ExampleApp> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await dispose()
    },
  }
}

/** The requests each example's header shows, against a running app. */
export async function check(port: number): Promise<string[]> {
  const base = `http://127.0.0.1:${port}`
  const post = () => fetch(`${base}/authors`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Ada"}' })
  const lines: string[] = []
  for (const [what, res] of [
    ['POST /authors', await post()],
    ['POST /authors again', await post()],
    ['GET /authors/1', await fetch(`${base}/authors/1`)],
    ['GET /authors/99', await fetch(`${base}/authors/99`)],
  ] as const) lines.push(`${what} -> ${res.status} ${await res.text()}`)
  return lines
}

/** `tsx examples/<name>.ts [url] [--check]`: serve on PORT (3000), or run the check and exit. */
export async function runExample(name: string, start: (url: string, port: number) => Promise<ExampleApp>): Promise<void> {
  const args = process.argv.slice(2)
  const url = args.find((a) => !a.startsWith('--')) ?? 'sqlite://'
  if (args.includes('--check')) {
    const app = await start(url, 0)
    try {
      for (const line of await check(app.port)) console.log(line)
    } finally {
      await app.close()
    }
    return
  }
  const app = await start(url, Number(process.env.PORT ?? 3000))
  console.log(`${name} example on http://127.0.0.1:${app.port} (${url}); Ctrl-C stops it`)
}
