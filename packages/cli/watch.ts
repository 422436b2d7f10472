import { setTimeout as sleep } from "node:timers/promises";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { z } from "zod";
import { DevsimError, retryAfterMs } from "#core";
import type { WatchOptions } from "./options.ts";

export const WATCH_USAGE = `Usage: devsim watch <rollout-id | workload> [options]

Follows a rollout live: prints every event it has recorded so far, then each new one as it
happens, until the rollout finishes; a stream that ends early is picked up again after the last
event seen. Given a workload name, follows that workload's newest rollout.
When the API fails for a while (its database is away, the connection drops) it tries again, as
the API asks, up to five times in a row. Exit code 0 when the rollout succeeded, 1 when it ended any
other way (failed, aborted, rolled back) or the API could not be reached, 2 on bad arguments.

Options (environment variable in brackets):
  --api-url URL   the API (DEVSIM_API_URL, default http://127.0.0.1:3000)
  --json          print each event as a line of JSON, and the finished rollout last
`;

/** The pause before coming back after a response that brought no events. */
const RECONNECT_PAUSE_MS = 1_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const EventMessage = z.object({
  type: z.string(),
  message: z.string(),
  createdAt: z.string(),
});
const EndMessage = z.object({ id: z.string(), status: z.string(), message: z.string().nullish() });
const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const RolloutList = z.object({ rollouts: z.array(z.object({ id: z.string() })) });

/** fetch, with a refused or dropped connection told as the API being unreachable. */
const call = async (url: string, init?: RequestInit): Promise<Response> => {
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause =
      error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new DevsimError("unavailable", `cannot reach the API at ${new URL(url).origin}: ${cause}`);
  }
};

/** The API's own error as a DevsimError with its message, for an answer that is not a success. */
const refused = async (response: Response): Promise<DevsimError> => {
  const body = ErrorBody.safeParse(await response.json().catch(() => null));
  const message = body.success ? body.data.error.message : `the API answered HTTP ${response.status}`;
  return new DevsimError(response.status === 404 ? "not_found" : "unavailable", message);
};

/** The rollout to follow: the id given, or the newest rollout of the workload named. */
const rolloutIdOf = async ({ target, apiUrl }: WatchOptions): Promise<string> => {
  if (UUID.test(target)) return target;
  const response = await call(`${apiUrl}/v1/workloads/${encodeURIComponent(target)}/rollouts`);
  if (!response.ok) throw await refused(response);
  const newest = read(RolloutList, await response.text()).rollouts[0];
  if (newest === undefined) throw new DevsimError("not_found", `workload '${target}' has no rollout`);
  return newest.id;
};

const clock = (iso: string): string => iso.slice(11, 19);

/** One message's JSON, checked; anything else means the other end is not our API. */
const read = <T>(schema: z.ZodType<T>, data: string): T => {
  try {
    return schema.parse(JSON.parse(data));
  } catch {
    throw new DevsimError(
      "unavailable",
      `the API sent a message that is not a rollout or event: ${data.slice(0, 200)}`,
    );
  }
};

/** How one response of the watch ended. */
type Ended =
  | { readonly kind: "finished"; readonly code: number }
  /** Closed before the rollout finished, as a long poll does. */
  | { readonly kind: "closed" }
  /** A failure that may pass: the API said so, or the connection dropped. */
  | { readonly kind: "setback"; readonly problem: DevsimError; readonly retryMs: number };

const isEventStream = (response: Response): boolean =>
  (response.headers.get("content-type") ?? "").startsWith("text/event-stream");

interface Reading {
  readonly options: WatchOptions;
  readonly write: (text: string) => void;
  /** Called with each event's id as it is printed. */
  readonly seen: (id: string) => void;
}

/** Reads one response of the watch to its end, printing its events. */
const readOnce = async (url: string, { options, write, seen }: Reading): Promise<Ended> => {
  const response = await call(url, { headers: { accept: "text/event-stream" } });
  if (response.status === 503) {
    return {
      kind: "setback",
      problem: await refused(response),
      retryMs: retryAfterMs(response.headers.get("retry-after"), Date.now()) ?? RECONNECT_PAUSE_MS,
    };
  }
  if (!response.ok) throw await refused(response);
  if (!isEventStream(response) || response.body === null) {
    throw new DevsimError(
      "unavailable",
      `${new URL(url).origin} answered with ${response.headers.get("content-type") ?? "no content type"}, ` +
        "not an event stream: is --api-url the devsim API?",
    );
  }
  let retryMs = RECONNECT_PAUSE_MS;
  const messages = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(
    new EventSourceParserStream({
      onRetry: (ms) => {
        retryMs = ms;
      },
    }),
  );
  try {
    for await (const message of messages) {
      if (message.event === "end") {
        const end = read(EndMessage, message.data);
        const status = end.status.replace("_", " ");
        write(
          options.json
            ? `${message.data}\n`
            : `Rollout ${end.id} ${status}${end.message ? `: ${end.message}` : ""}\n`,
        );
        return { kind: "finished", code: end.status === "succeeded" ? 0 : 1 };
      }
      if (message.event === "error") {
        const { error } = read(ErrorBody, message.data);
        return { kind: "setback", problem: new DevsimError("unavailable", error.message), retryMs };
      }
      if (options.json) {
        write(`${message.data}\n`);
      } else {
        const event = read(EventMessage, message.data);
        write(`${clock(event.createdAt)}  ${event.type.padEnd(24)} ${event.message}\n`);
      }
      if (message.id !== undefined) seen(message.id);
    }
  } catch (error) {
    if (error instanceof DevsimError) throw error;
    // The body broke off: the connection dropped under it.
    const cause = error instanceof Error ? error.message : String(error);
    return {
      kind: "setback",
      problem: new DevsimError("unavailable", `the connection dropped: ${cause}`),
      retryMs,
    };
  }
  return { kind: "closed" };
};

/** Failures in a row, once the watch is under way, before it gives up. */
const SETBACKS_ALLOWED = 5;
/** The longest it waits before coming back, whatever the API asks. */
const LONGEST_WAIT_MS = 30_000;

/** `devsim watch`; returns the exit code. Writes what happens to `write` as it happens. */
export const runWatchCommand = async (
  options: WatchOptions,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> => {
  const id = await rolloutIdOf(options);
  if (!options.json) write(`Watching rollout ${id}\n`);
  let after: string | undefined;
  let news = false;
  const reading: Reading = {
    options,
    write,
    seen: (eventId) => {
      after = eventId;
      news = true;
    },
  };
  let started = false;
  let setbacks = 0;
  for (;;) {
    news = false;
    const query = after === undefined ? "" : `?after=${after}`;
    let ended: Ended;
    try {
      ended = await readOnce(`${options.apiUrl}/v1/rollouts/${id}/watch${query}`, reading);
    } catch (error) {
      // Unreachable from the start is most likely the wrong address: said at once.
      if (!started || !(error instanceof DevsimError) || error.code !== "unavailable") throw error;
      ended = { kind: "setback", problem: error, retryMs: RECONNECT_PAUSE_MS };
    }
    started = true;
    if (ended.kind === "finished") return ended.code;
    if (news) setbacks = 0;
    if (ended.kind === "setback") {
      setbacks += 1;
      if (setbacks > SETBACKS_ALLOWED) {
        throw new DevsimError(
          "unavailable",
          `the watch stopped before the rollout finished: ${ended.problem.message}`,
        );
      }
      const waitMs = Math.min(ended.retryMs, LONGEST_WAIT_MS);
      if (!options.json) write(`(${ended.problem.message}; trying again in ${Math.ceil(waitMs / 1000)} s)\n`);
      await sleep(waitMs);
    } else if (!news) {
      // A long poll that ended without news: back after a pause, not at once.
      await sleep(RECONNECT_PAUSE_MS);
    }
  }
};
