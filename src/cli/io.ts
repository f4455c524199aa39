/** A stream a command writes to: what the terminal reporters and the colour switch need of it. */
export interface Output {
  write(text: string): void;
  isTTY?: boolean;
  columns?: number;
}

/** Where a command writes: stdout for its result (text or `--json`), stderr for progress, warnings and errors. */
export interface CliIO {
  stdout: Output;
  stderr: Output;
}

