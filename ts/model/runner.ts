// Running ONNX models: the one interface lowbit's whole-model work needs
// from an inference engine, and its adapter for onnxruntime (onnxruntime-node
// in Node, onnxruntime-web in browsers and as Node's fallback). lowbit never
// runs a float model itself; it feeds batches to a runner and reads what
// comes back.
import { ELEMENT_TYPES, type ElementType, type TypedTensor } from '../base/elementTypes.js';
import { LowbitError } from '../base/errors.js';
import { describe, show } from '../base/tensor.js';

/** A model loaded by a runner, ready to run batches. */
export interface ModelSession {
  /** The model's input names, in order. */
  readonly inputNames: readonly string[];
  /** The model's output names, in order. */
  readonly outputNames: readonly string[];
  /** Runs one batch and returns the outputs named in `fetch` (default: all of them). */
  run(feeds: Readonly<Record<string, TypedTensor>>, fetch?: readonly string[]): Promise<Record<string, TypedTensor>>;
  /** Frees the engine's resources. */
  release(): Promise<void>;
}

/** An inference engine lowbit can hand models to: onnxruntime's, or one of your own. */
export interface ModelRunner {
  /** The engine's name, for reports (e.g. `'onnxruntime-node'`). */
  readonly name: string;
  /** Loads a serialized ONNX model. */
  load(model: Uint8Array): Promise<ModelSession>;
}

/** The parts of an onnxruntime module (onnxruntime-node or onnxruntime-web) a runner uses. */
export interface OnnxRuntimeModule {
  readonly InferenceSession: {
    create(model: Uint8Array, options?: object): Promise<OnnxRuntimeSession>;
  };
  readonly Tensor: new (type: string, data: unknown, dims: readonly number[]) => OnnxRuntimeTensor;
}

/** An onnxruntime `InferenceSession`, as far as a runner uses it. */
export interface OnnxRuntimeSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OnnxRuntimeTensor>, fetches?: readonly string[]): Promise<Record<string, OnnxRuntimeTensor>>;
  release(): Promise<void>;
}

/** An onnxruntime `Tensor`, as far as a runner reads it. */
export interface OnnxRuntimeTensor {
  readonly type: string;
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** The element types onnxruntime's JavaScript tensors hold (bfloat16 is not among them). */
const ORT_TYPES: ReadonlySet<string> = new Set(Object.keys(ELEMENT_TYPES).filter((t) => t !== 'bfloat16'));

/**
 * A {@link ModelRunner} over an onnxruntime module: pass `await
 * import('onnxruntime-node')` or `await import('onnxruntime-web')` (its
 * `env` settings, such as `env.wasm.numThreads`, are yours to set).
 * `sessionOptions` go to every `InferenceSession.create`.
 *
 * @example
 * ```ts
 * import * as ort from 'onnxruntime-node';
 * const runner = onnxRuntimeRunner(ort, 'onnxruntime-node');
 * ```
 */
export function onnxRuntimeRunner(ort: OnnxRuntimeModule, name = 'onnxruntime', sessionOptions: object = {}): ModelRunner {
  if (typeof ort?.InferenceSession?.create !== 'function' || typeof ort.Tensor !== 'function') {
    throw new LowbitError('INVALID_ARGUMENT', `onnxRuntimeRunner needs an onnxruntime module (InferenceSession and Tensor), got ${describe(ort)}`);
  }
  return {
    name,
    async load(model) {
      let session: OnnxRuntimeSession;
      try {
        session = await ort.InferenceSession.create(model, sessionOptions);
      } catch (e) {
        throw new LowbitError('INVALID_MODEL', `${name} could not load the model: ${(e as Error).message}`, { cause: e });
      }
      return {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        async run(feeds, fetch) {
          const ortFeeds: Record<string, OnnxRuntimeTensor> = {};
          for (const [input, t] of Object.entries(feeds)) {
            if (!ORT_TYPES.has(t.dtype)) throw new LowbitError('INVALID_DTYPE', `${name} cannot take ${t.dtype} tensors (input ${input})`);
            ortFeeds[input] = new ort.Tensor(t.dtype, t.data, t.shape);
          }
          let out: Record<string, OnnxRuntimeTensor>;
          try {
            out = await session.run(ortFeeds, fetch);
          } catch (e) {
            throw new LowbitError('INVALID_MODEL', `${name} failed to run the model: ${(e as Error).message}`, { cause: e });
          }
          const result: Record<string, TypedTensor> = {};
          for (const [output, t] of Object.entries(out)) result[output] = fromRuntime(t, output);
          return result;
        },
        release: () => session.release(),
      };
    },
  };
}

function fromRuntime(t: OnnxRuntimeTensor, name: string): TypedTensor {
  const dtype = t.type as ElementType;
  const info = ELEMENT_TYPES[dtype];
  if (
    info === undefined ||
    !(t.data instanceof (info.ArrayType as unknown as typeof Float32Array) || t.data instanceof (info.ArrayType as unknown as typeof BigInt64Array))
  ) {
    throw new LowbitError('INVALID_DTYPE', `output ${name} is a ${show(t.type)} tensor, which lowbit does not read`);
  }
  return { dtype, shape: [...t.dims], data: t.data } as TypedTensor;
}

/** Which onnxruntime package {@link loadRunner} loads. */
export type RunnerKind = 'node' | 'web';

/**
 * The default runner: onnxruntime-node where it is installed (Node), else
 * onnxruntime-web (browsers, and Node's fallback). Both are optional peer
 * dependencies of lowbit: install the one you use. `kind` picks one.
 */
export async function loadRunner(kind?: RunnerKind): Promise<ModelRunner> {
  const inNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  const order: RunnerKind[] = kind !== undefined ? [kind] : inNode ? ['node', 'web'] : ['web'];
  const failures: string[] = [];
  for (const k of order) {
    const pkg = `onnxruntime-${k}`;
    try {
      // a name in a variable: bundlers leave the optional peer dependency alone
      const ort = (await import(/* @vite-ignore */ pkg)) as OnnxRuntimeModule & { default?: OnnxRuntimeModule };
      return onnxRuntimeRunner(ort.InferenceSession === undefined && ort.default !== undefined ? ort.default : ort, pkg);
    } catch (e) {
      failures.push(`${pkg}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new LowbitError(
    'INVALID_ARGUMENT',
    `no ONNX runtime could be loaded (${failures.join('; ')}); install onnxruntime-node (Node) or onnxruntime-web, or pass a runner`,
  );
}
