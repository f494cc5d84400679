// The engine behind convInteger and qlinearConv: one image at a time,
// depthwise convolutions directly, the others as a GEMM over the im2col
// packed into A, then the output stage.
import { IntType } from '../../wasm/codes.js';
import { newResultArray, view, withScope } from '../../wasm/memory.js';
import { wasmExports } from '../../wasm/module.js';
import { ownedHandle } from '../../wasm/owned.js';
import { checkStatus } from '../../wasm/status.js';
import { ConvGeometry, ConvI8Args, DepthwiseI8Args, writeArgs } from '../../wasm/structs.js';
import type { Int8Tensor } from '../gemm/operands.js';
import { prepareStage, type Int8OutputStage } from '../gemm/outputStage.js';
import { packConvInt8, PackedConvWeights } from './packConvWeights.js';
import type { ConvPlan } from './plan.js';

/**
 * Runs a planned convolution and returns int32 sums, or the stage's int8
 * outputs. Groups of one input channel each (depthwise) run directly
 * (`lowbit_conv_depthwise_i8`: a GEMM's weight panels would be mostly
 * empty); the others as a GEMM: weights packed per group (transposed, so
 * the GEMM is pixels × output channels; here, unless packed already by
 * {@link packConvWeights}), each image's im2col packed into A, then the
 * output stage stores NCHW. The result goes into `out` when given.
 */
export function runConvInt8(
  x: Int8Tensor,
  w: Int8Tensor | PackedConvWeights,
  zx: number,
  zw: Int32Array,
  plan: ConvPlan,
  stage: Int8OutputStage | undefined,
  op: string,
  out?: Int32Array | Uint8Array | Int8Array,
): Int32Array | Uint8Array | Int8Array {
  const { batch, channels, h, w: wd, m, kh, kw, group, oh, ow } = plan;
  const pixels = oh * ow;
  const OutArray = stage === undefined ? Int32Array : stage.dtype === 'uint8' ? Uint8Array : Int8Array;
  if (batch * m * pixels === 0) return out ?? new OutArray(0);
  const depthwise = channels === group;
  const packed = w instanceof PackedConvWeights;
  // packed weights: GEMM panels (a handle), or for depthwise the bytes as given (a pointer)
  const handle = packed ? ownedHandle(w, 'w') : depthwise ? 0 : packConvInt8(w.data, w.dtype, [m, channels / group, kh, kw], group);
  const typeOf = (t: { dtype: string }) => (t.dtype === 'int8' ? IntType.I8 : IntType.U8);
  const ex = wasmExports();
  try {
    return withScope((scope) => {
      const xPtr = scope.copyIn(x.data);
      const wPtr = !depthwise ? 0 : packed ? handle : scope.copyIn(w.data);
      const wLength = m * kh * kw;
      const zwPtr = scope.copyIn(zw);
      const accPtr = scope.allocArray(Int32Array, pixels * m);
      const outPtr = scope.allocArray(OutArray, pixels * m);
      const output = prepareStage(scope, stage, op);
      const result = out ?? newResultArray(OutArray as typeof Int32Array, batch * m * pixels, op);
      const [sh, sw] = plan.strides;
      const [dh, dw] = plan.dilations;
      const geometry = scope.struct(ConvGeometry, { h, w: wd, kh, kw, sh, sw, dh, dw, padT: plan.pads[0], padL: plan.pads[1], oh, ow });
      const image = channels * h * wd;
      for (let n = 0; n < batch; n++) {
        const input = { x: xPtr + n * image, xLen: image, xType: typeOf(x), zx, zw: zwPtr, zwLen: zw.length, geometry, acc: accPtr };
        const status = depthwise
          ? ex.lowbit_conv_depthwise_i8(writeArgs(DepthwiseI8Args, { ...input, w: wPtr, wLen: wLength, wType: typeOf(w), channels, m }))
          : ex.lowbit_conv_i8(writeArgs(ConvI8Args, { ...input, packed: handle }));
        checkStatus(status, op);
        output.run(accPtr, pixels, m, outPtr, depthwise ? 'channels' : 'transposed');
        result.set(view(OutArray as typeof Int32Array, outPtr, m * pixels), n * m * pixels);
      }
      return result;
    });
  } finally {
    if (handle !== 0 && !packed) ex.lowbit_packed_i8_free(handle);
  }
}
