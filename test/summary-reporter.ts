import type { Reporter, TestModule } from 'vitest/node';
import { CANNOT_RUN } from './system-tools.js';

/**
 * Ends the run with one plain line, `N passed, N failed, N skipped`, that any CI log
 * reader understands (the default reporter's summary is coloured and spread over lines).
 * Tests that failed because this machine lacks a tool or root (test/system-tools.ts) are
 * failures, never skips; the line before the summary names them.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const cannotRun: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') passed += 1;
        else if (result.state === 'failed') {
          failed += 1;
          if (result.errors?.some((e) => e.message.includes(CANNOT_RUN))) cannotRun.push(test.fullName);
        } else skipped += 1;
      }
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed += 1;
    }
    if (cannotRun.length > 0) {
      process.stdout.write(
        `\n${cannotRun.length} failed because this machine lacks a tool or root (run bash scripts/system-deps.sh): ${cannotRun.join('; ')}\n`,
      );
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
