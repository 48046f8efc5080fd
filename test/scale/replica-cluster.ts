/**
 * A private PostgreSQL 15 primary and a streaming replica made with
 * `pg_basebackup -R`, each in its own temporary folder on its own port,
 * run as the postgres OS user. The replica applies WAL `applyDelayMs` late
 * (`recovery_min_apply_delay`), so reads from it are visibly stale.
 *
 * ```ts
 * const cluster = await startReplicaCluster({ applyDelayMs: 300 })
 * createEngine(cluster.primary.url, { replicas: [cluster.replica.url] })
 * await cluster.remove()
 * ```
 */
import { execFile, spawnSync } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePort, privatePostgresAvailable, startPrivatePostgres, type PrivatePostgres } from '../support/server-control.js'

const run = promisify(execFile)
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin'

export const replicaClusterAvailable = privatePostgresAvailable

export interface ReplicaServer {
  readonly port: number
  readonly url: string
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  start(): Promise<void>
}

export interface ReplicaCluster {
  readonly primary: PrivatePostgres
  readonly replica: ReplicaServer
  remove(): Promise<void>
}

async function asPostgres(cmd: string, args: string[]): Promise<void> {
  await run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, cmd), ...args], { timeout: 120_000 })
}

export async function startReplicaCluster(options: { applyDelayMs: number }): Promise<ReplicaCluster> {
  const primary = await startPrivatePostgres()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'athanor-replica-'))
  let running = false
  try {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim())
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim())
    chownSync(dir, uid, gid)
    const data = path.join(dir, 'data')
    // -R writes standby.signal and primary_conninfo; -c fast: no wait for a checkpoint.
    await asPostgres('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', data, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'])
    const port = await freePort()
    const start = async (): Promise<void> => {
      const pgOptions =
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c hot_standby=on ` +
        `-c recovery_min_apply_delay=${options.applyDelayMs}ms -c max_connections=200`
      await asPostgres('pg_ctl', ['-D', data, '-o', pgOptions, '-l', path.join(dir, 'log'), 'start', '-w', '-t', '60'])
      running = true
    }
    const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
      await asPostgres('pg_ctl', ['-D', data, 'stop', '-m', mode, '-w', '-t', '60'])
      running = false
    }
    await start()
    const onExit = (): void => {
      if (running) spawnSync('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, 'pg_ctl'), '-D', data, 'stop', '-m', 'immediate'])
      rmSync(dir, { recursive: true, force: true })
    }
    process.once('exit', onExit)
    const replica: ReplicaServer = { port, url: `postgresql://postgres@127.0.0.1:${port}/postgres`, stop, start }
    return {
      primary,
      replica,
      async remove() {
        process.off('exit', onExit)
        if (running) await stop('immediate').catch(() => undefined)
        rmSync(dir, { recursive: true, force: true })
        await primary.remove()
      },
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    await primary.remove()
    throw error
  }
}
