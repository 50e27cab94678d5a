/** A benchmark role: what a child process runs. */
export interface Role {
  /** Reported to the parent when ready (ports...). */
  info: Record<string, number | string>;
  /** Commands the parent may call (an answer may be immediate or a promise). */
  commands: Record<string, (args: Record<string, unknown>) => unknown>;
  /** Closes servers and connections. */
  close(): void | Promise<void>;
}

/** Reads a numeric argument or fails with a message naming it. */
export function numberArg(args: Record<string, unknown>, key: string): number {
  const v = args[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`missing numeric argument "${key}"`);
  return v;
}
