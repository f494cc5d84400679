// The messages between a GemmPool and its workers. Every request carries an
// id; the worker answers each with the same id, in order.
import type { LowbitErrorCode } from '../base/errors.js';
import type { Int8DType } from '../ops/gemm/operands.js';
import type { Requantize } from '../ops/gemm/outputStage.js';

/** 8-bit data as it crosses to a worker (structured clone copies it). */
export interface Int8Payload {
  data: Uint8Array | Int8Array;
  shape: number[];
}

/** What the pool asks of a worker. Zero points are plain numbers, already checked. */
export type Request =
  | { id: number; op: 'ping' }
  | { id: number; op: 'pack'; b: Int8Payload; zeroPoint: number[] }
  | { id: number; op: 'matmul'; handle: number; a: Int8Payload; aZeroPoint: number[] }
  | { id: number; op: 'gemmI8'; handle: number; a: Int8Payload; stage: StagePayload }
  | { id: number; op: 'qlinearMatmul'; handle: number; a: Int8Payload; args: QLinearPayload }
  | { id: number; op: 'free'; handle: number };

/** gemmI8's output stage for one column slice (per-column values already sliced). */
export interface StagePayload {
  aZeroPoint: number;
  outputScale: Float32Array;
  outputZeroPoint: number;
  bias: Int32Array | undefined;
  relu: boolean;
  requantize: Requantize;
}

/** qlinearMatmul's values for one column slice (per-column b scales already sliced). */
export interface QLinearPayload {
  aScale: number;
  aZeroPoint: number;
  bScale: Float32Array;
  yScale: number;
  yZeroPoint: number;
  dtype: Int8DType;
  requantize: Requantize;
}

/** A worker's answer: a handle (pack), a product (matmul, gemmI8, qlinearMatmul), nothing (ping, free), or the error it threw. */
export interface Reply {
  id: number;
  handle?: number;
  data?: Int32Array | Int8Array | Uint8Array;
  shape?: number[];
  error?: { code: LowbitErrorCode; message: string };
}
