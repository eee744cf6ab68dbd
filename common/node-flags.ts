/**
 * The Node flags the proxy runs with, wherever it runs: the systemd unit's ExecStart, the
 * container's ENTRYPOINT, and the launcher the demo, the tests and the benchmark use (the
 * packaging test checks the first two against this list). They must be on the command
 * line: V8 sizes its heap before any code runs.
 *
 * --max-semi-space-size=2: the young generation grows to 64 MiB under load by default and
 * keeps it; the proxy's per-connection garbage is small and short-lived, so 2 MiB
 * semi-spaces cost no measurable CPU (`npm run bench:profile`: 1215 µs/conn either way)
 * and hold RSS under load at 92 MiB instead of 112.
 */
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
