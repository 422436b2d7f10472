import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { FINISHED_STATUSES, notFound, type RolloutEvent } from "#core";
import { findRollout, listLateRolloutEvents, listRolloutEvents } from "#store";
import type { ApiDeps } from "./deps.ts";
import { errorAnswer, RETRY_AFTER_SECONDS } from "./errors.ts";
import { EventPageQuery, errorResponses, IdParam } from "./schemas.ts";
import { eventView, rolloutView } from "./views.ts";

/** How often a watch looks for new events while nothing happens; 500 ms unless the deps say. */
const DEFAULT_POLL_MS = 500;
/** How soon a client should come back after a long poll ended without the rollout finishing. */
const LONG_POLL_RETRY_MS = 100;
/** A comment this often keeps proxies and load balancers from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;
const PAGE = 100;
/** How much later than a newer event an older one may still commit and be sent; it is looked for that long. */
const LATE_COMMIT_MS = 5_000;

const WatchQuery = EventPageQuery.pick({ after: true });

const watchRouteDef = createRoute({
  method: "get",
  path: "/v1/rollouts/{id}/watch",
  tags: ["rollouts"],
  summary:
    "Follow a rollout live, as server-sent events: every event so far and each new one as it is " +
    "recorded (the event's JSON, its id as the SSE id), then `end` with the rollout once it has " +
    "finished; a failure after the stream began comes as `error` with the API's error body. Where " +
    "responses are buffered (AWS Lambda), each answer ends once it has sent events: come back with " +
    "`after` (or Last-Event-ID) until `end` arrives",
  request: { params: IdParam, query: WatchQuery },
  responses: {
    200: {
      description: "an event stream; an EventSource that reconnects resumes after its Last-Event-ID",
      content: { "text/event-stream": { schema: z.string() } },
    },
    ...errorResponses(400, 404),
  },
});

/** Last-Event-ID as an event id, when it is one. */
const resumeFrom = (header: string | undefined): number | undefined => {
  const id = Number(header);
  return header !== undefined && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
};

/** `GET /v1/rollouts/{id}/watch`: a rollout as it happens, for `devsim watch` and any EventSource. */
export const mountWatchRoute = (app: OpenAPIHono, deps: ApiDeps): void => {
  const pollMs = deps.watchPollMs ?? DEFAULT_POLL_MS;
  const longPollMs = deps.watchLongPollMs;
  app.openapi(watchRouteDef, async (c) => {
    const { id } = c.req.valid("param");
    const { after } = c.req.valid("query");
    if (!(await findRollout(deps.sql, id))) throw notFound("rollout", id);
    // An EventSource opened with `after` reconnects to the same URL with its Last-Event-ID: the later wins.
    let last = Math.max(after ?? 0, resumeFrom(c.req.header("last-event-id")) ?? 0);

    return streamSSE(c, async (stream) => {
      const started = Date.now();
      let wroteAt = started;
      // Events already sent in this stream, the newest time among them, and when the last went
      // out: an event whose transaction commits after one with a higher id is caught by looking
      // back from it, for as long as such a late commit may come.
      const floor = last;
      const sentIds = new Set<number>();
      let newestAt = 0;
      let sentAt = 0;
      // An EventSource waits about 3 s before it reconnects unless told otherwise.
      if (longPollMs !== undefined) await stream.write(`retry: ${LONG_POLL_RETRY_MS}\n\n`);
      const send = async (e: RolloutEvent): Promise<void> => {
        if (sentIds.has(e.id)) return;
        sentIds.add(e.id);
        last = Math.max(last, e.id);
        newestAt = Math.max(newestAt, Date.parse(e.createdAt));
        // The SSE id is the highest sent so far, so a reconnect never asks again for what came late.
        await stream.writeSSE({ id: String(last), data: JSON.stringify(eventView(e)) });
        wroteAt = Date.now();
        sentAt = wroteAt;
      };
      /** Sends every event not sent yet; whether a page was full (more may wait). */
      const sendNew = async (): Promise<boolean> => {
        if (sentIds.size > 0 && Date.now() - sentAt <= LATE_COMMIT_MS) {
          const late = await listLateRolloutEvents(deps.sql, id, {
            afterId: floor,
            throughId: last,
            since: new Date(newestAt - LATE_COMMIT_MS),
          });
          for (const e of late) await send(e);
        }
        const events = await listRolloutEvents(deps.sql, id, { afterId: last, limit: PAGE });
        for (const e of events) await send(e);
        return events.length === PAGE;
      };
      try {
        while (!stream.aborted) {
          if (await sendNew()) continue;
          const rollout = await findRollout(deps.sql, id);
          if (rollout === null || FINISHED_STATUSES.has(rollout.status)) {
            // Events recorded with the last change may have landed after the read above.
            while (await sendNew()) {}
            const end = rollout === null ? { id, status: "deleted" } : rolloutView(rollout);
            await stream.writeSSE({ event: "end", data: JSON.stringify(end) });
            return;
          }
          // A long poll ends with what it has, or when it has waited long enough; the client comes back.
          if (longPollMs !== undefined && (sentIds.size > 0 || Date.now() - started >= longPollMs)) return;
          if (Date.now() - wroteAt >= KEEP_ALIVE_MS) {
            await stream.write(": keep-alive\n\n");
            wroteAt = Date.now();
          }
          await stream.sleep(pollMs);
        }
      } catch (error) {
        // The headers are out: the failure goes down the stream, as the API's error body, and the
        // stream ends. An EventSource comes back after `retry` and resumes where it stopped.
        const answer = errorAnswer(error);
        if (answer.status === 500) deps.log.error({ err: error, rollout: id }, "rollout watch failed");
        // Not back within the long poll's 100 ms either: a failing watch is not to be hammered.
        const retry = (answer.retryAfterSeconds ?? RETRY_AFTER_SECONDS) * 1000;
        if (!stream.aborted)
          await stream.writeSSE({ event: "error", data: JSON.stringify(answer.body), retry });
      }
    });
  });
};
