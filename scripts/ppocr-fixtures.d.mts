// Types of ppocr-fixtures.mjs, for the tests and benches that import it.
interface U8Array {
  data: Uint8Array;
  shape: number[];
}
interface RecLine {
  text: string;
  font: string;
  size: number;
  recW: number;
  recInputW: number;
  clsW: number;
}
/** The committed renders of test/fixtures/models/ppocr. */
export interface PpocrLines {
  meta: {
    rec: { height: number; minWidth: number; maxWidth: number; lines: RecLine[] };
    cls: { height: number; width: number };
    det: { height: number; width: number; mean: number[]; std: number[]; pages: Array<Array<{ text: string; box: [number, number, number, number] }>> };
  };
  rec: U8Array;
  det: U8Array;
}
export function ppocrLines(): PpocrLines;
/** Recognizer input of line i, [1,3,48,W]. */
export function recInput(lines: PpocrLines, i: number): { data: Float32Array; dims: number[] };
/** Classifier inputs, upright then turned 180°, [2N,3,48,192], with labels 0 / 1. */
export function clsInputs(lines: PpocrLines): { data: Float32Array; dims: number[]; labels: Uint8Array };
/** Detector input of page p, [1,3,480,640]. */
export function detInput(lines: PpocrLines, p: number): { data: Float32Array; dims: number[] };
/** Writes the float inputs as .npy into <cache>/ppocr (when missing); returns the paths. */
export function ppocrFixtures(): { recDir: string; clsX: string; clsLabels: string; detX: string };
