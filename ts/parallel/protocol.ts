// The messages between a GemmPool and its workers. Every request carries an
// id; the worker answers each with the same id, in order.
import type { LowbitErrorCode } from '../errors.js';

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
  | { id: number; op: 'free'; handle: number };

/** A worker's answer: a handle (pack), a product (matmul), nothing (ping, free), or the error it threw. */
export interface Reply {
  id: number;
  handle?: number;
  data?: Int32Array;
  shape?: number[];
  error?: { code: LowbitErrorCode; message: string };
}
