import pino from "pino";
import pretty from "pino-pretty";
import type { Logger } from "#core";

export interface LoggerOptions {
  readonly level: string;
  /** `pretty` for people at a terminal, `json` for log collectors. */
  readonly format: "pretty" | "json";
}

/** pino, written synchronously to stdout; pretty-printed in the same thread, so no worker is spawned. */
export const createLogger = ({ level, format }: LoggerOptions): Logger & pino.Logger =>
  format === "pretty"
    ? pino(
        { level },
        pretty({
          colorize: process.stdout.isTTY,
          translateTime: "HH:MM:ss.l",
          ignore: "pid,hostname",
          sync: true,
        }),
      )
    : pino({ level });
