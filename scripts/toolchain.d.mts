// Types of toolchain.mjs, for the test that imports it.
export interface Toolchain {
  cargo: string;
  rustc: string;
  env: Record<string, string>;
  source: string;
}
export function findToolchain(baseEnv?: NodeJS.ProcessEnv, debianBin?: string): Toolchain;
export function missingDebianPackages(baseEnv?: NodeJS.ProcessEnv, debianBin?: string): string[];
export function toolchainCandidates(baseEnv?: NodeJS.ProcessEnv, debianBin?: string): Array<Record<string, unknown>>;
