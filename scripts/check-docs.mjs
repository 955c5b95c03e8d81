// Fails when docs/api (the API reference TypeDoc generates from the TSDoc) is out of date:
// generates it afresh into a scratch folder and compares file by file. `npm run docs` updates it.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

const committed = new URL('../docs/api', import.meta.url).pathname
const fresh = mkdtempSync(join(tmpdir(), 'tiermem-docs-'))
const files = (dir) => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]))

try {
  execFileSync(process.execPath, [new URL('../node_modules/typedoc/bin/typedoc', import.meta.url).pathname, '--out', fresh, '--logLevel', 'Warn'], { stdio: 'inherit' })
  const want = new Map(files(fresh).map((file) => [relative(fresh, file), readFileSync(file, 'utf8')]))
  const have = new Map(files(committed).map((file) => [relative(committed, file), readFileSync(file, 'utf8')]))
  const stale = [...new Set([...want.keys(), ...have.keys()])].filter((file) => want.get(file) !== have.get(file))
  if (stale.length > 0) {
    console.error(`docs/api is out of date (${stale.join(', ')}): run npm run docs and commit the result`)
    process.exitCode = 1
  } else {
    console.log(`docs/api is up to date (${want.size} files)`)
  }
} finally {
  rmSync(fresh, { recursive: true, force: true })
}
