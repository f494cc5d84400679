// lowbit Studio's page: the form (a model, calibration files, settings),
// the Quantize and Cancel buttons, progress, and the result: the report
// drawn by renderReport on this page's document into a sandboxed frame, and
// downloads of the model and the report. The work itself is the worker's
// (client.ts); this thread only reads the form and draws.
import { toJson } from '../cli/json.js';
import type { ModelDescription } from '../model/inspect.js';
import type { ProgressEvent } from '../model/progress.js';
import type { QuantizationReport } from '../model/report.js';
import { renderReport } from '../report/renderReport.js';
import { StudioClient, StudioError } from './client.js';
import { calibrationFileKind, calibrationFrom, calibrationKind, type FormValues, imageDefaults, settingsFrom } from './settings.js';
import { describeModel, outputName, progressShare, progressText, summaryText } from './text.js';

/** The element with this id (the page's HTML has them all). */
function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`index.html has no #${id}`);
  return el as T;
}

const ui = {
  engine: $<HTMLParagraphElement>('engine'),
  form: $<HTMLFormElement>('form'),
  model: $<HTMLInputElement>('model'),
  modelInfo: $<HTMLParagraphElement>('model-info'),
  calibration: $<HTMLInputElement>('calibration'),
  calibrationFolder: $<HTMLInputElement>('calibration-folder'),
  calibrationInfo: $<HTMLParagraphElement>('calibration-info'),
  mode: $<HTMLSelectElement>('mode'),
  method: $<HTMLSelectElement>('method'),
  percentileField: $<HTMLDivElement>('percentile-field'),
  staticSettings: $<HTMLFieldSetElement>('static-settings'),
  dataSettings: $<HTMLFieldSetElement>('data-settings'),
  inputName: $<HTMLSelectElement>('inputName'),
  quantize: $<HTMLButtonElement>('quantize'),
  cancel: $<HTMLButtonElement>('cancel'),
  progress: $<HTMLProgressElement>('progress'),
  status: $<HTMLParagraphElement>('status'),
  error: $<HTMLParagraphElement>('error'),
  result: $<HTMLElement>('result'),
  summary: $<HTMLParagraphElement>('summary'),
  report: $<HTMLIFrameElement>('report'),
};

/** The worker, starting (set by main before anything can be picked). */
let started: Promise<StudioClient> | undefined;

const state: {
  client?: StudioClient;
  ready: boolean;
  model?: File;
  description?: ModelDescription;
  calibration: File[];
  ignored: number;
  /** The mode was chosen by hand: picking files no longer changes it. */
  modeChosen: boolean;
  running?: { cancel(): void };
  result?: { model: Uint8Array; report: QuantizationReport; name: string; html: string };
} = { ready: false, calibration: [], ignored: 0, modeChosen: false };

const field = (name: string) => ui.form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;

function formValues(): FormValues {
  const text = (name: string) => field(name).value;
  const checked = (name: string) => (field(name) as HTMLInputElement).checked;
  return {
    mode: text('mode'),
    method: text('method'),
    percentile: text('percentile'),
    format: text('format'),
    weightType: text('weightType'),
    perChannel: checked('perChannel'),
    activationType: text('activationType'),
    activationSymmetric: checked('activationSymmetric'),
    reduceRange: checked('reduceRange'),
    inputName: text('inputName'),
    height: text('height'),
    width: text('width'),
    channels: text('channels'),
    layout: text('layout'),
    mean: text('mean'),
    std: text('std'),
    batch: text('batch'),
  };
}

function showError(e: unknown): void {
  ui.error.textContent = e instanceof StudioError && e.code === 'ABORTED' ? '' : e instanceof Error ? e.message : String(e);
}

/** What the calibration files are, or the error that says why they cannot be used. */
function kindOfCalibration(): ReturnType<typeof calibrationKind> | Error {
  try {
    return calibrationKind(state.calibration);
  } catch (e) {
    return e as Error;
  }
}

/** Enables, disables and shows the controls that the state allows. */
function update(): void {
  const values = formValues();
  const kind = kindOfCalibration();
  const dynamic = values.mode === 'dynamic';
  ui.staticSettings.disabled = dynamic || state.running !== undefined;
  ui.dataSettings.disabled = dynamic || state.running !== undefined || kind === 'none';
  ui.percentileField.hidden = values.method !== 'percentile';
  for (const el of Array.from(ui.dataSettings.querySelectorAll<HTMLElement>('.image'))) el.hidden = kind !== 'images';
  ui.quantize.disabled = !state.ready || state.description === undefined || state.running !== undefined;
  ui.cancel.disabled = state.running === undefined;
  ui.model.disabled = ui.calibration.disabled = ui.calibrationFolder.disabled = state.running !== undefined;
}

function setField(name: string, value: string | number | undefined): void {
  if (value !== undefined) field(name).value = String(value);
}

async function setModel(file: File): Promise<void> {
  state.model = file;
  state.description = undefined;
  ui.modelInfo.textContent = `Reading ${file.name}…`;
  update();
  try {
    if (started === undefined) throw new Error('the worker has not started');
    const description = await (await started).inspect(file);
    if (state.model !== file) return;
    state.description = description;
    ui.modelInfo.textContent = describeModel(file.name, file.size, description);
    ui.inputName.replaceChildren(...description.inputs.map((i) => new Option(i.name, i.name)));
    const d = imageDefaults(description.inputs[0]);
    setField('height', d.height);
    setField('width', d.width);
    setField('channels', d.channels);
    setField('layout', d.layout);
    setField('batch', d.batch);
  } catch (e) {
    if (state.model === file) ui.modelInfo.textContent = `${file.name} cannot be used: ${(e as Error).message}`;
  }
  update();
}

/** File names in the order a person reads them (2 before 10); one collator: localeCompare with options makes one per call. */
const byName = new Intl.Collator('en', { numeric: true });

function setCalibration(files: readonly File[]): void {
  const usable = files.filter((f) => calibrationFileKind(f) !== undefined);
  const path = (f: File) => f.webkitRelativePath || f.name;
  state.calibration = usable.sort((a, b) => byName.compare(path(a), path(b)));
  state.ignored = files.length - usable.length;
  const kind = kindOfCalibration();
  const ignored = state.ignored === 0 ? '' : ` (${state.ignored} other file${state.ignored === 1 ? '' : 's'} left out)`;
  if (kind instanceof Error) ui.calibrationInfo.textContent = kind.message;
  else if (kind === 'none') ui.calibrationInfo.textContent = `None: the model will be quantized dynamically.${ignored}`;
  else if (kind === 'images') ui.calibrationInfo.textContent = `${state.calibration.length} image${state.calibration.length === 1 ? '' : 's'}${ignored}.`;
  else ui.calibrationInfo.textContent = `${state.calibration.map((f) => f.name).join(', ')}${ignored}.`;
  if (!state.modeChosen) ui.mode.value = state.calibration.length > 0 ? 'static' : 'dynamic';
  update();
}

/** Draws progress at most once a frame. */
let drawn: ProgressEvent | undefined;
let frame = 0;
function showProgress(event: ProgressEvent): void {
  drawn = event;
  if (frame !== 0) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    if (drawn === undefined || state.running === undefined) return;
    ui.status.textContent = progressText(drawn);
    const share = progressShare(drawn);
    if (share === undefined) ui.progress.removeAttribute('value');
    else ui.progress.value = share;
  });
}

async function quantize(): Promise<void> {
  const { client, model } = state;
  if (client === undefined || model === undefined || state.running !== undefined) return;
  ui.error.textContent = '';
  let job: ReturnType<StudioClient['quantize']>;
  try {
    const values = formValues();
    job = client.quantize(model, calibrationFrom(values, state.calibration), settingsFrom(values), showProgress);
  } catch (e) {
    showError(e);
    return;
  }
  const started = performance.now();
  state.running = job;
  ui.progress.value = 0;
  ui.status.textContent = 'Starting…';
  update();
  try {
    const { model: bytes, report } = await job.result;
    const seconds = (performance.now() - started) / 1000;
    // a progress line still waiting for its frame would overwrite the next one
    cancelAnimationFrame(frame);
    frame = 0;
    ui.status.textContent = `Drawing the report…`;
    const html = await renderReport(report, { title: model.name, document });
    state.result = { model: bytes, report, name: model.name, html };
    ui.summary.textContent = summaryText(report);
    ui.report.srcdoc = html;
    ui.result.hidden = false;
    ui.progress.value = 1;
    ui.status.textContent = `Done in ${seconds.toFixed(2)} s.`;
  } catch (e) {
    ui.progress.value = 0;
    ui.status.textContent = e instanceof StudioError && e.code === 'ABORTED' ? 'Cancelled.' : 'Failed.';
    showError(e);
  } finally {
    state.running = undefined;
    update();
  }
}

function download(data: BlobPart, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The files of a drop, folders walked (their entries must be taken before the first await). */
async function droppedFiles(data: DataTransfer): Promise<File[]> {
  const entries = Array.from(data.items).map((item) => item.webkitGetAsEntry?.() ?? null);
  if (entries.some((e) => e === null)) return Array.from(data.files);
  const files: File[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      files.push(await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject)));
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) return;
      for (const e of batch) await walk(e);
    }
  };
  for (const e of entries) await walk(e!);
  return files;
}

function wire(): void {
  ui.model.addEventListener('change', () => {
    const file = ui.model.files?.[0];
    if (file !== undefined) void setModel(file);
  });
  for (const input of [ui.calibration, ui.calibrationFolder]) input.addEventListener('change', () => setCalibration(Array.from(input.files ?? [])));
  ui.mode.addEventListener('change', () => {
    state.modeChosen = true;
    update();
  });
  ui.form.addEventListener('change', update);
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    void quantize();
  });
  ui.cancel.addEventListener('click', () => state.running?.cancel());
  $('download-model').addEventListener('click', () => {
    if (state.result !== undefined) download(state.result.model as BlobPart, outputName(state.result.name, 'quantized.onnx'), 'application/octet-stream');
  });
  $('download-report').addEventListener('click', () => {
    if (state.result !== undefined) download(toJson(state.result.report), outputName(state.result.name, 'report.json'), 'application/json');
  });
  $('download-html').addEventListener('click', () => {
    if (state.result !== undefined) download(state.result.html, outputName(state.result.name, 'report.html'), 'text/html');
  });
  document.addEventListener('dragover', (event) => {
    event.preventDefault();
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', (event) => {
    if (event.relatedTarget === null) document.body.classList.remove('dragging');
  });
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    document.body.classList.remove('dragging');
    if (event.dataTransfer === null || state.running !== undefined) return;
    void droppedFiles(event.dataTransfer).then((files) => {
      const model = files.find((f) => f.name.toLowerCase().endsWith('.onnx'));
      const rest = files.filter((f) => f !== model);
      if (model !== undefined) void setModel(model);
      if (rest.length > 0) setCalibration(rest);
    });
  });
}

async function main(): Promise<void> {
  started = StudioClient.start();
  wire();
  update();
  try {
    state.client = await started;
    const info = await state.client.ready;
    state.ready = true;
    const where = !info.served
      ? 'opened from disk, so nothing needs caching'
      : info.offline
        ? 'kept for offline use'
        : 'no offline copy (this browser or page allows no service worker)';
    ui.engine.textContent = `Ready: ${info.runtime} on ${info.threads} thread${info.threads === 1 ? '' : 's'}, loaded in ${info.seconds.toFixed(1)} s; ${where}.`;
    // the plotting library's first use sets up d3 and Plot (tens of ms): done now, while the page is idle, not after a run
    const warm = () => void import('@observablehq/plot');
    if (typeof requestIdleCallback === 'function') requestIdleCallback(warm, { timeout: 2000 });
    else setTimeout(warm, 0);
  } catch (e) {
    ui.engine.textContent = `onnxruntime-web could not start: ${(e as Error).message}`;
  }
  update();
}

void main();
