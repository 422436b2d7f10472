import type { Logger } from "#core";

/** One line a recording logger was given. */
export interface LogLine {
  readonly level: string;
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

/**
 * A logger that keeps every line it is given, in order, for tests to read back; its children
 * write to the same lines.
 *
 * @example
 * const log = recordingLogger();
 * startReconcileLoop(reconciler, { log });
 * log.lines.filter((l) => l.level === "warn");
 */
export const recordingLogger = (): Logger & { readonly lines: LogLine[] } => {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj: { ...obj }, msg });
  };
  const log = {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: () => log,
  };
  return log;
};
