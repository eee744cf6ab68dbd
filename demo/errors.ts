/** Error codes of `ekslink demo` (collected into docs/errors.md). */
export const ERROR_CATALOG = {
  EKL_DEMO_ADDRESS_UNAVAILABLE:
    'The demo could not listen on a 127.0.10.x loopback address. Linux routes all of 127.0.0.0/8 to lo; on macOS add aliases first: `for i in $(seq 1 12); do sudo ifconfig lo0 alias 127.0.10.$i up; done`.',
  EKL_DEMO_PROXY_START:
    'The ekslink proxy child did not report `{"event":"listening"}` in time, or exited first. Run `npm run build`, then read the proxy output printed with the error.',
  EKL_DEMO_PROXY_EXITED:
    'The ekslink proxy child exited during the run. Its last output is printed with the error; rerun with EKSLINK_DEBUG=1 for more.',
  EKL_DEMO_NO_CLIENT:
    '`--client kubectl` was given but no runnable kubectl is on PATH. Install kubectl, or use `--client builtin` (or the default `auto`).',
} as const;
