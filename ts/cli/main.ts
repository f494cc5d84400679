#!/usr/bin/env node
// The `lowbit` command (package.json "bin", built as dist/cli.js): runs the
// command line, and turns Ctrl-C (SIGINT) or SIGTERM into an abort of the
// running command, which then stops at its next step and writes nothing; a
// second Ctrl-C exits at once. Node-only code stays in ts/cli/. In the
// build, this folder imports the rest of lowbit as dist/index.js (see
// tsup.config.ts), so it may only use what ts/index.ts exports.
import { runCli, EXIT } from './cli.js';
import { AtomicWrites } from './files.js';

const controller = new AbortController();
const writes = new AtomicWrites();
let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  if (++signals > 1) {
    writes.discard();
    if (process.stderr.isTTY) process.stderr.write('\x1B[?25h\n'); // the progress bar hides the cursor
    process.exit(EXIT.interrupted);
  }
  process.stderr.write(`\nlowbit: ${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping at the next step (Ctrl-C again to quit at once)\n`);
  controller.abort(new Error(`stopped by ${signal}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('exit', () => writes.discard());
// a reader that stops early (`lowbit inspect m.onnx | head -3`) is not an error
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? EXIT.ok);
});

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal, writes });
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
