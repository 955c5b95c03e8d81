// Prints one closing line per vitest JSON report: "<label>: N passed, N failed[, N skipped]".
// CI reads that line; vitest's own summary is formatted for people.
import { existsSync, readFileSync } from 'node:fs'

let failedAny = false
for (const [label, file] of process.argv.slice(2).map((arg) => arg.split('='))) {
  if (!existsSync(file)) {
    console.log(`${label}: 0 passed, 1 failed (no report at ${file}: the runner did not finish)`)
    failedAny = true
    continue
  }
  if (file.endsWith('.xml')) {
    // JUnit (deno test): a testcase each, a <failure> in each that failed.
    const xml = readFileSync(file, 'utf8')
    const cases = (xml.match(/<testcase\b/g) ?? []).length
    const failures = (xml.match(/<failure\b/g) ?? []).length + (xml.match(/<error\b/g) ?? []).length
    const skips = (xml.match(/<skipped\b/g) ?? []).length
    console.log(`${label}: ${cases - failures - skips} passed, ${failures} failed${skips ? `, ${skips} skipped` : ''}`)
    if (failures > 0 || cases === 0) failedAny = true
    continue
  }
  const report = JSON.parse(readFileSync(file, 'utf8'))
  let passed, failed, skipped
  if (report.stats && 'expected' in report.stats) {
    // Playwright: expected = passed, unexpected = failed, flaky = passed only on retry (counted as failed).
    passed = report.stats.expected
    failed = report.stats.unexpected + report.stats.flaky + (report.errors?.length ?? 0)
    skipped = report.stats.skipped
  } else {
    // Vitest
    passed = report.numPassedTests
    skipped = report.numPendingTests + report.numTodoTests
    failed = report.numFailedTests + (report.success === false && report.numFailedTests === 0 ? 1 : 0)
  }
  console.log(`${label}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
  if (failed > 0) failedAny = true
}
process.exit(failedAny ? 1 : 0)
