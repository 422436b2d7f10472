import { setTimeout as sleep } from "node:timers/promises";
import { EventSourceParserStream } from "eventsource-parser/stream";
import { z } from "zod";
import { DevsimError } from "#core";
import type { WatchOptions } from "./options.ts";

export const WATCH_USAGE = `Usage: devsim watch <rollout-id | workload> [options]

Follows a rollout live: prints every event it has recorded so far, then each new one as it
happens, until the rollout finishes; a stream that ends early is picked up again after the last
event seen. Given a workload name, follows that workload's newest rollout.
Exit code 0 when the rollout succeeded, 1 when it ended any other way (failed, aborted, rolled
back) or the API could not be reached, 2 on bad arguments.

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

/** `devsim watch`; returns the exit code. Writes what happens to `write` as it happens. */
export const runWatchCommand = async (
  options: WatchOptions,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> => {
  const id = await rolloutIdOf(options);
  if (!options.json) write(`Watching rollout ${id}\n`);
  let after: string | undefined;
  for (;;) {
    const query = after === undefined ? "" : `?after=${after}`;
    const response = await call(`${options.apiUrl}/v1/rollouts/${id}/watch${query}`, {
      headers: { accept: "text/event-stream" },
    });
    if (!response.ok || response.body === null) throw await refused(response);
    const messages = response.body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream());
    let news = false;
    for await (const message of messages) {
      if (message.event === "end") {
        const end = read(EndMessage, message.data);
        write(
          options.json
            ? `${message.data}\n`
            : `Rollout ${end.id} ${end.status.replace("_", " ")}${end.message ? `: ${end.message}` : ""}\n`,
        );
        return end.status === "succeeded" ? 0 : 1;
      }
      if (message.event === "error") {
        const { error } = read(ErrorBody, message.data);
        throw new DevsimError(
          "unavailable",
          `the watch stopped before the rollout finished: ${error.message}`,
        );
      }
      if (options.json) {
        write(`${message.data}\n`);
      } else {
        const event = read(EventMessage, message.data);
        write(`${clock(event.createdAt)}  ${event.type.padEnd(24)} ${event.message}\n`);
      }
      after = message.id ?? after;
      news = true;
    }
    // Ended before the rollout did: a host that answers in parts (a long poll) or a dropped
    // connection. Come back after the last event; at once if there was news, else after a pause.
    if (!news) await sleep(RECONNECT_PAUSE_MS);
  }
};
