/** Where the CLI writes: results to `out` (stdout), diagnostics and progress to `err`. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Raw write to the progress stream, for a line redrawn in place. */
  errRaw(text: string): void;
  readonly isTTY: boolean;
  /** The environment (GITHUB_ACTIONS, GITHUB_STEP_SUMMARY); process.env when absent. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  errRaw: (text) => process.stderr.write(text),
  isTTY: !!process.stderr.isTTY,
};
