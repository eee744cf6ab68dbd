import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { CANNOT_RUN } from './system-tools.js';

/**
 * Ends the run with one plain line, `N passed, N failed, N skipped`, that any CI log
 * reader understands (the default reporter's summary is coloured and spread over lines).
 * Tests that failed because this machine lacks a tool or root (test/system-tools.ts) are
 * failures, never skips, and so are tests skipped because their suite's setup (beforeAll)
 * failed; the lines before the summary name them.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const cannotRun: string[] = [];
    const notRun: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') passed += 1;
        else if (result.state === 'failed') {
          failed += 1;
          if (result.errors?.some((e) => e.message.includes(CANNOT_RUN))) cannotRun.push(test.fullName);
        } else if (setupFailed(test)) {
          // Skipped because a beforeAll (moto, namespaces, a build) failed: it did not run.
          failed += 1;
          notRun.push(test.fullName);
        } else skipped += 1;
      }
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed += 1;
    }
    if (cannotRun.length > 0) {
      process.stdout.write(
        `\n${cannotRun.length} failed because this machine lacks a tool or root (run bash scripts/system-deps.sh): ${cannotRun.join('; ')}\n`,
      );
    }
    if (notRun.length > 0) {
      process.stdout.write(
        `\n${notRun.length} failed because their suite's setup failed, so they never ran: ${notRun.join('; ')}\n`,
      );
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

/** Whether a suite or module holding this test failed (its setup threw), so the test never ran. */
function setupFailed(test: TestCase): boolean {
  for (let parent = test.parent; ; parent = parent.parent) {
    if (parent.state() === 'failed') return true;
    if (parent.type === 'module') return false;
  }
}
