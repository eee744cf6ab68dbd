import { MSG } from './engine/messages.js';
import type { OutputMessage, OutputSink } from './engine/output.js';
import type { Change } from './engine/step.js';

const SYMBOL: Record<Change['action'], string> = {
  create: '+',
  update: '~',
  replace: '-/+',
  delete: '-',
  none: '=',
};

function seconds(ms: unknown): string {
  return typeof ms === 'number' ? `${(ms / 1000).toFixed(1)}s` : '';
}

/** Render a change list, one indented line per resource. */
export function renderChanges(changes: readonly Change[], indent = '    '): string[] {
  return changes.map(
    (c) => `${indent}${SYMBOL[c.action]} ${c.action === 'none' ? 'ok' : c.action} ${c.resource}: ${c.reason}`,
  );
}

/** Render outputs as `key: value` lines, the kubeconfig as a block. */
export function renderOutputs(outputs: Readonly<Record<string, unknown>>): string[] {
  const lines = ['Outputs:'];
  for (const [key, value] of Object.entries(outputs)) {
    if (key === 'kubeconfig') continue;
    lines.push(`  ${key}: ${Array.isArray(value) ? value.join(', ') : String(value ?? '(none)')}`);
  }
  if (typeof outputs.kubeconfig === 'string') {
    lines.push('  kubeconfig snippet (merge into your kubeconfig):');
    lines.push(
      ...outputs.kubeconfig
        .trimEnd()
        .split('\n')
        .map((l) => `    ${l}`),
    );
  }
  return lines;
}

/**
 * The terminal view of a run: one line per step as it finishes, with elapsed time; warnings
 * as they happen; plan details under each step.
 */
export function humanSink(write: (line: string) => void): OutputSink {
  return {
    notify(msg: OutputMessage) {
      const where = msg.step ? `${msg.step}${msg.account ? ` (${msg.account})` : ''}` : '';
      const data = msg.data ?? {};
      switch (msg.code) {
        case MSG.STEP_PLANNED.code:
          write(`${where}: ${msg.message.replace(/^[^:]+: /, '')}`);
          for (const line of renderChanges((data.changes as Change[]) ?? [])) write(line);
          break;
        case MSG.STEP_DONE.code:
          write(`✓ ${where} ${msg.message.replace(/^[^:]+: /, '')} [${seconds(data.elapsedMs)}]`);
          for (const line of renderChanges(
            ((data.changes as Change[]) ?? []).filter((c) => c.action !== 'none'),
          ))
            write(line);
          break;
        case MSG.STEP_UNCHANGED.code:
          write(`✓ ${where} ${msg.message.replace(/^[^:]+: /, '')} [${seconds(data.elapsedMs)}]`);
          break;
        case MSG.STEP_FAILED.code:
          write(`✗ ${msg.message}`);
          break;
        case MSG.PLAN_SUMMARY.code:
        case MSG.APPLY_SUMMARY.code:
        case MSG.DESTROY_SUMMARY.code:
          write(`${msg.message[0]!.toUpperCase()}${msg.message.slice(1)}.`);
          break;
        case MSG.OUTPUTS.code:
          for (const line of renderOutputs((data.outputs as Record<string, unknown>) ?? {})) write(line);
          break;
        default:
          if (msg.level === 'warn' || msg.level === 'error')
            write(`! ${where ? `${where}: ` : ''}${msg.message}`);
      }
    },
  };
}
