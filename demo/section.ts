// What every demo section is: demo/main.ts runs a list of them.

/** A demo section: a title and a function that prints its part. */
export interface DemoSection {
  title: string;
  run(): void | Promise<void>;
}
