/**
 * Imported first by the entry point: ekslink is built and tested on Node.js 24 LTS, and
 * its dependencies (undici 8 among them) fail in obscure ways on older releases. Say so
 * plainly instead.
 */
const MIN_MAJOR = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < MIN_MAJOR) {
  process.stderr.write(
    `error EKL_NODE_VERSION: ekslink needs Node.js ${MIN_MAJOR} or newer; this is ${process.version} (${process.execPath}).\n` +
      `  In a checkout, run it through npm, which uses the Node ${MIN_MAJOR} that \`npm ci\` installed: npm run ekslink -- <command>\n` +
      `  Elsewhere, install Node.js ${MIN_MAJOR} LTS (Amazon Linux 2023: dnf install nodejs24).\n`,
  );
  process.exit(1);
}
