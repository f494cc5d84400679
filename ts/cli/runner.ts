// The runner the CLI hands to quantizeModel and compareModels: onnxruntime
// as loadRunner gives it, wrapped so that a model the engine cannot load or
// run is named by its file in the error (the API's messages say "the model").
import { LowbitError } from '../base/errors.js';
import { loadRunner, type ModelRunner, type RunnerKind } from '../model/runner.js';

/** `e` with `name: ` before its message, unless the message names it already. */
function naming(e: unknown, name: string): unknown {
  if (!(e instanceof LowbitError) || e.message.includes(name)) return e;
  return new LowbitError(e.code, `${name}: ${e.message}`, { cause: e.cause ?? e });
}

/** onnxruntime (`kind`, default node where installed, else web), whose errors name the file of the model they concern (`nameOf`). */
export async function cliRunner(kind: RunnerKind | undefined, nameOf: (model: Uint8Array) => string): Promise<ModelRunner> {
  const inner = await loadRunner(kind);
  return {
    name: inner.name,
    async load(model) {
      const name = nameOf(model);
      const session = await inner.load(model).catch((e: unknown) => {
        throw naming(e, name);
      });
      return {
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        run: (feeds, fetch) =>
          session.run(feeds, fetch).catch((e: unknown) => {
            throw naming(e, name);
          }),
        release: () => session.release(),
      };
    },
  };
}
