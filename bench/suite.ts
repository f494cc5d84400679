// What every benchmark suite is: bench/main.ts runs a list of them.

/** A benchmark suite: a name and a function that runs and prints it. */
export interface BenchSuite {
  name: string;
  run(): Promise<void>;
}
