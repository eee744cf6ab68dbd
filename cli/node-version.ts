/**
 * ekslink is built and tested on Node.js 24 LTS, and its dependencies (undici 8 among them)
 * fail in obscure ways on older releases. The entry point asks this first, before it loads
 * anything else, and says so plainly instead.
 */
const MIN_MAJOR = 24;

/** The message for a Node.js that is too old, or undefined when this one will do. */
export function nodeVersionProblem(
  version: string = process.version,
  execPath = process.execPath,
): string | undefined {
  const major = Number(version.replace(/^v/, '').split('.')[0]);
  if (major >= MIN_MAJOR) return undefined;
  return (
    `error EKL_NODE_VERSION: ekslink needs Node.js ${MIN_MAJOR} or newer; this is ${version} (${execPath}).\n` +
    `  In a checkout, run it through npm, which uses the Node ${MIN_MAJOR} that \`npm ci\` installed: npm run ekslink -- <command>\n` +
    `  Elsewhere, install Node.js ${MIN_MAJOR} LTS (Amazon Linux 2023: dnf install nodejs24).\n`
  );
}
