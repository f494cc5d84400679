/**
 * lowbit: low-bit neural-network quantization for JavaScript.
 *
 * Everything public is re-exported here; `await init()` once before any op.
 * @packageDocumentation
 */
export { init, isInitialized, wasmInfo, type InitOptions } from './wasm/module.js';
export { LowbitError, type LowbitErrorCode } from './base/errors.js';
export { intTypeInfo, INT_DTYPES, type IntDType, type IntArray, type IntTypeInfo, type NumericArray } from './base/dtypes.js';
export type { Tensor, TensorLike } from './base/tensor.js';
export {
  HistogramObserver,
  type HistogramObserverOptions,
  type HistogramMode,
  type HistogramState,
  type AbsHistogram,
  type EntropyOptions,
  type EntropyResult,
  type MseOptions,
  type MseResult,
} from './calibrate/histogram.js';
export { MinMaxObserver, type MinMaxObserverOptions, type MinMaxResultOptions } from './calibrate/minmax.js';
export { calibrate, type CalibrateOptions, type HistogramMethod } from './calibrate/calibrate.js';
export type { CalibrationResult, CalibrationMethod, QuantTypeOptions } from './calibrate/result.js';
export type { CalibrationInput } from './calibrate/data.js';
export { quantRange, type IntRange, type IntRangeSpec } from './base/ranges.js';
export { chooseQParams, type QParams, type QParamsOptions } from './formats/affine.js';
export { sqnr, mse, maxAbsError, cosine } from './base/metrics.js';
export {
  float32ToBits,
  bitsToFloat32,
  decomposeFloat32,
  float32ToFloat16,
  float16ToFloat32,
  float32ToBfloat16,
  bfloat16ToFloat32,
  type FloatClass,
  type Float32Fields,
} from './formats/ieee754.js';
export { kmeansQuantize, type KmeansOptions, type KmeansQuantized } from './formats/kmeans.js';
export { matmulF32, gemmF32, type GemmF32Args, type MatmulF32Options } from './ops/gemm/matmulF32.js';
export { quantizeLinear, type QuantizedTensor, type QuantizeLinearOptions } from './ops/quant/quantizeLinear.js';
export { dequantizeLinear, type DequantizeLinearOptions, type QuantizedTensorLike } from './ops/quant/dequantizeLinear.js';
export { fakeQuantize, type FakeQuantizeOptions } from './ops/quant/fakeQuantize.js';
export type { ScaleArg, ZeroPointArg } from './ops/quant/channels.js';
export { dynamicQuantizeLinear, type DynamicQuantized } from './ops/quant/dynamicQuantizeLinear.js';
export { pack4, unpack4 } from './ops/quant/pack4.js';
export {
  toFixed,
  fromFixed,
  fixedStep,
  fixedRange,
  bestFractionLength,
  type FixedFormat,
  type BestFractionLengthOptions,
  type FractionLengthSearch,
} from './formats/fixed.js';
export { matmulInteger, type MatmulIntegerOptions } from './ops/gemm/matmulInteger.js';
export { packWeights, PackedMatrix, type PackedDType, type PackWeightsOptions } from './ops/gemm/packWeights.js';
export type { Int8DType } from './ops/gemm/operands.js';
export { qlinearMatmul, type QLinearMatmulOptions } from './ops/gemm/qlinearMatmul.js';
export { gemmI8, type GemmI8Args } from './ops/gemm/gemmI8.js';
export type { Requantize } from './ops/gemm/outputStage.js';
export {
  matmulNBits,
  packNBits,
  PackedNBits,
  type MatmulNBitsOptions,
  type MatmulNBitsProductOptions,
  type NBitsAccuracyLevel,
  type NBitsZeroPointKind,
  INT8_A_MAX_BLOCK,
} from './ops/gemm/matmulNBits.js';
export type { NBits, NBitsFormat } from './ops/gemm/nbitsFormat.js';
export { quantizeNBits, type NBitsQuantized, type QuantizeNBitsOptions } from './ops/gemm/quantizeNBits.js';
export { convInteger, type ConvIntegerOptions } from './ops/conv/convInteger.js';
export { qlinearConv, type QLinearConvOptions } from './ops/conv/qlinearConv.js';
export type { AutoPad, ConvOptions } from './ops/conv/plan.js';
export { packConvWeights, PackedConvWeights, type PackConvWeightsOptions } from './ops/conv/packConvWeights.js';
export { createGemmPool, GemmPool, PooledWeights, type GemmPoolOptions } from './parallel/gemmPool.js';
// qat: autograd, layers, optimizers, quantization-aware training, data
/** The autograd: a float32 `Tensor` that records operations, computes gradients, and its differentiable ops. */
export * as autograd from './api/autograd.js';
/** Layers over the autograd (`Linear`, `Conv2d`, `Sequential`, …) and their quantization-aware versions. */
export * as nn from './api/nn.js';
/** Optimizers (`SGD`, `Adam`) that update parameters in place from their gradients, and learning-rate schedules. */
export * as optim from './autograd/optim.js';
export { fakeQuantSTE, type FakeQuantParams } from './qat/fakeQuant.js';
export { prepareQAT, type QATConfig } from './qat/prepare.js';
export { distillationLoss, distillationStep, type DistillationOptions, type DistillationStepArgs } from './qat/distill.js';
export { exportQuantized, QuantizedModel, type QuantizedLayer, type QuantizedWeightLayer, type ActivationQParams } from './qat/export.js';
export { readIdx } from './data/idx.js';
export { DataLoader, type DataLoaderOptions, type Batch } from './data/loader.js';
export { readNpy, writeNpy, readNpyHeader, readNpyRows, type NpyDType, type ReadNpyOptions, type NpyBytes, type NpyHeader } from './data/npy.js';
export type { TypedTensor, ElementType, ElementArrays } from './base/elementTypes.js';
export { imageFeeds, type ImageFeedsOptions, type ImageFile } from './data/images/imageFeeds.js';
export { decodeImage, type RgbImage } from './data/images/decode.js';
export { resizeBilinear } from './data/images/resize.js';
export { imageShapeDefaults, type ImageShapeDefaults, type DeclaredDim } from './data/images/shapeDefaults.js';
// model: whole ONNX models
export {
  quantizeModel,
  type QuantizeModelOptions,
  type QuantizedModelResult,
} from './model/quantizeModel.js';
export type {
  QuantizationReport,
  NodeReport,
  TensorReport,
  OutputReport,
  AccuracyReport,
  SensitivityReport,
  SensitivityEntry,
  PlanReport,
  PlanEntry,
  WeightReport,
} from './model/report.js';
export { renderReport, type RenderReportOptions, type DrawingDocument } from './report/renderReport.js';
export { DEFAULT_KEEP_FLOAT32_OP_TYPES } from './model/quantize/float16Rules.js';
export {
  finetuneModel,
  type ActivationQuantizer,
  type ActivationQuantizerReport,
  type FinetuneOptions,
  type FinetuneReport,
  type FinetuneResult,
} from './model/finetune/finetune.js';
export { compareModels, type CompareModelsOptions, type ModelComparison, type OutputComparison } from './model/compare.js';
export { inspectModel, type ModelDescription, type ValueDescription } from './model/inspect.js';
export {
  loadRunner,
  onnxRuntimeRunner,
  type ModelRunner,
  type ModelSession,
  type RunnerKind,
  type OnnxRuntimeModule,
  type OnnxRuntimeSession,
  type OnnxRuntimeTensor,
} from './model/runner.js';
export type { FeedTensor, Feeds, FeedSource, FeedArray } from './model/feeds.js';
export type { RangeMethod, ValueHistogram } from './model/calibration.js';
export type { ProgressEvent, ProgressCallback, LongCallOptions } from './model/progress.js';
