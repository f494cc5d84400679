// placeholder, replaced below
import type { ModelProto } from '../onnx/proto.js';
import type { NodeReport, TensorReport } from '../report.js';
import type { NodeFilter } from './plan.js';
import type { QuantType } from './params.js';
export interface DynamicSettings { weightType: QuantType; convWeightType: QuantType; perChannel: boolean; reduceRange: boolean; filter: NodeFilter }
export function quantizeDynamic(model: ModelProto, settings: DynamicSettings): { nodes: NodeReport[]; tensors: TensorReport[] } { void model; void settings; throw new Error('todo'); }
