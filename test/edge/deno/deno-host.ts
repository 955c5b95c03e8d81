import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TiermemError, isErrorCode } from '../../../src/core/api/errors.ts'
import type { Store } from '../../../src/core/store/store.ts'
import { fromWire, toWire } from './wire.ts'

const DENO = fileURLToPath(new URL('../../../node_modules/.bin/deno', import.meta.url))
const HOST = fileURLToPath(new URL('./host.ts', import.meta.url))

export interface DenoHost {
  url: string
  kvPath: string
  call(body: Record<string, unknown>): Promise<unknown>
  stop(): Promise<void>
}

/** Starts `deno run --unstable-kv host.ts` over a KV file (a new one unless `kvPath` is given). */
export async function startDenoHost(options: { tokens: Record<string, string>; maxBodyBytes?: number; kvPath?: string }): Promise<DenoHost> {
  const dir = options.kvPath ? undefined : mkdtempSync(join(tmpdir(), 'tiermem-deno-'))
  const kvPath = options.kvPath ?? join(dir!, 'kv.sqlite3')
  const child: ChildProcess = spawn(DENO, ['run', '--unstable-kv', '--allow-env', '--allow-net', '--allow-read', '--allow-write', HOST], {
    env: {
      ...process.env,
      TIERMEM_TOKENS: JSON.stringify(options.tokens),
      TIERMEM_KV_PATH: kvPath,
      TIERMEM_MAX_BODY_BYTES: String(options.maxBodyBytes ?? 25 * 1024 * 1024),
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const port = await listeningPort(child)
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    kvPath,
    async call(body) {
      const response = await fetch(`${url}/__store`, { method: 'POST', body: toWire(body) })
      const answer = fromWire(await response.text()) as { ok?: unknown; error?: { code?: string; message?: string } }
      if (answer.error) {
        const { code, message = 'failed' } = answer.error
        throw code && isErrorCode(code) ? new TiermemError(code, message) : new Error(message)
      }
      return answer.ok
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGKILL')
        await exited
      }
      if (dir && !options.kvPath) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A Store in Node whose every call runs on a Deno KV store in the Deno host. */
export async function remoteKvStore(host: DenoHost, prefix: string[]): Promise<Store> {
  const { id, backend, capabilities } = (await host.call({ op: 'open', prefix })) as { id: number; backend: string; capabilities: Store['capabilities'] }
  const call = (method: string, ...args: unknown[]) => host.call({ op: 'call', id, method, args: args.filter((a) => a !== undefined) }) as Promise<never>
  return {
    backend,
    capabilities,
    getMany: async (space, keys) => ((await call('getMany', space, keys)) as Array<Uint8Array | null>).map((v) => v ?? undefined),
    batch: (ops) => call('batch', ops),
    scan: (space, options) => call('scan', space, options),
    keys: (space, options) => call('keys', space, options),
    stats: () => call('stats'),
    close: async () => {
      await call('close')
    },
  }
}

/** The port a Deno server prints as `listening <port>`; rejects with its output if it exits or is silent for 60 s. */
export function listeningPort(child: ChildProcess): Promise<number> {
  let output = ''
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`deno did not start in 60 s:\n${output}`)), 60_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening (\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`deno exited with ${code}:\n${output}`))
    })
  })
}
