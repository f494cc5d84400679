// Progress of a long command on stderr: a line as each phase starts, and in
// the phases that count samples, a bar with rate and ETA (cli-progress) on
// a terminal, or one line per 10% when stderr is a file or a pipe (logs,
// CI), so that nothing is redrawn where it cannot be.
import cliProgress from 'cli-progress';
import type { ProgressCallback, ProgressEvent } from '../model/progress.js';

/** Where progress goes, and how. */
export interface ProgressOptions {
  /** The stream written to (stderr). */
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** Units expected per counting phase (e.g. `{ calibrate: 1000 }`), when the events do not say. */
  readonly totals?: Readonly<Record<string, number>>;
  /** Print nothing. */
  readonly quiet?: boolean;
}

/** Receives a long call's events; {@link stop} ends the bar (on success, failure or abort). */
export interface ProgressDisplay {
  readonly onProgress: ProgressCallback;
  stop(): void;
}

/** What each phase is called on screen. */
const PHASES: Readonly<Record<string, string>> = {
  load: 'reading the model',
  calibrate: 'calibrating',
  quantize: 'quantizing',
  write: 'encoding the model',
  evaluate: 'measuring the quantized model against the float one',
  compare: 'comparing',
};

/** Seconds as `1.2 s` or `3 min 05 s`. */
function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
}

/** Shows progress events on `options.stream`. */
export function progressDisplay(options: ProgressOptions): ProgressDisplay {
  const { stream, totals = {}, quiet = false } = options;
  if (quiet) return { onProgress: () => {}, stop: () => {} };
  const tty = stream.isTTY === true;
  let phase = '';
  // a phase began when the event before its first one came (its first event reports work already done)
  let last = Date.now();
  let started = last;
  let decile = -1;
  let bar: cliProgress.SingleBar | undefined;
  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };
  const rate = (done: number): number => done / Math.max((Date.now() - started) / 1000, 1e-3);
  const onProgress = (e: ProgressEvent): void => {
    const total = e.total ?? totals[e.phase];
    // a phase that counts: it reports more than once, with a total known from somewhere
    const counting = totals[e.phase] !== undefined;
    if (e.phase !== phase) {
      stopBar();
      phase = e.phase;
      started = last;
      decile = -1;
      const label = PHASES[e.phase] ?? e.phase;
      if (counting && tty) {
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: `${label.padEnd(12)} {bar} {percentage}% | {value}/{total} ${e.unit} | {rate} ${e.unit}/s | ETA {eta_formatted}`,
            hideCursor: true,
            barsize: 30,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total!, 0, { rate: '0' });
      } else if (!counting) {
        stream.write(`${label}${total !== undefined && total > 0 ? ` (${total} ${e.unit})` : ''}…\n`);
      }
    }
    last = Date.now();
    if (!counting) return;
    if (bar !== undefined) {
      bar.update(Math.min(e.done, total!), { rate: rate(e.done).toFixed(0) });
      return;
    }
    const d = Math.min(10, Math.floor((10 * e.done) / total!));
    if (d > decile) {
      decile = d;
      const r = rate(e.done);
      const eta = e.done >= total! ? '' : `, ETA ${duration((total! - e.done) / r)}`;
      stream.write(`${PHASES[e.phase] ?? e.phase}: ${d * 10}% (${e.done}/${total} ${e.unit}, ${r.toFixed(0)} ${e.unit}/s${eta})\n`);
    }
  };
  return { onProgress, stop: stopBar };
}
