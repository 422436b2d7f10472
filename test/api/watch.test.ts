import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi, createApiMetrics } from "#api";
import { countRolloutsByStatus } from "#store";
import { type Harness, startHarness } from "../support/harness.ts";

let h: Harness;
let api: ReturnType<typeof createApi>;

beforeAll(async () => {
  h = await startHarness();
  api = createApi({
    ...h.deps,
    metrics: createApiMetrics(() => countRolloutsByStatus(h.deps.sql)),
    ready: async () => true,
    watchPollMs: 20,
  });
});
afterAll(async () => {
  await h?.close();
});

interface Sse {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: string;
}

/** Reads server-sent events off a response body, one message at a time (comments skipped). */
async function* messages(response: Response): AsyncGenerator<Sse> {
  const reader = response.body?.getReader();
  if (reader === undefined) throw new Error("no body");
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    let cut = buffer.indexOf("\n\n");
    while (cut !== -1) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const fields = new Map<string, string>();
      for (const line of block.split("\n")) {
        if (line.startsWith(":") || line === "") continue;
        const colon = line.indexOf(":");
        const value = line.slice(colon + 1).replace(/^ /, "");
        const name = line.slice(0, colon);
        fields.set(name, fields.has(name) ? `${fields.get(name)}\n${value}` : value);
      }
      if (fields.has("data")) {
        yield {
          event: fields.get("event") ?? "message",
          id: fields.get("id"),
          data: fields.get("data") ?? "",
        };
      }
      cut = buffer.indexOf("\n\n");
    }
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
  }
}

interface EventJson {
  id: number;
  type: string;
  rolloutId: string;
}

const shop = {
  name: "watched",
  image: "registry.example.com/shop/web:1",
  port: 8080,
  healthCheck: { path: "/healthz" },
  targets: [
    { cloud: "aws", region: "us-east-1", replicas: 1 },
    { cloud: "gcp", region: "europe-west1", replicas: 1 },
  ],
};

const create = async (): Promise<string> => {
  const res = await api.request("/v1/workloads", {
    method: "POST",
    body: JSON.stringify(shop),
    headers: { "content-type": "application/json" },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { rollout: { id: string } }).rollout.id;
};

describe("GET /v1/rollouts/{id}/watch", () => {
  let rolloutId = "";
  let seen: EventJson[] = [];

  it("streams each event as it is recorded, then ends with the finished rollout", async () => {
    rolloutId = await create();
    const response = await api.request(`/v1/rollouts/${rolloutId}/watch`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const stream = messages(response);

    // The rollout has not moved yet: its first event arrives while it is still under way.
    const first = await stream.next();
    if (first.done) throw new Error("the stream ended at once");
    expect(JSON.parse(first.value.data)).toMatchObject({ type: "rollout_started", rolloutId });
    expect(first.value.id).toBe(String((JSON.parse(first.value.data) as EventJson).id));

    let end: Sse | undefined;
    const events: EventJson[] = [JSON.parse(first.value.data) as EventJson];
    const reading = (async () => {
      for await (const message of stream) {
        if (message.event === "end") {
          end = message;
          return;
        }
        events.push(JSON.parse(message.data) as EventJson);
      }
    })();
    await h.drive(async () => end !== undefined);
    await reading;

    expect(JSON.parse(end?.data ?? "{}")).toMatchObject({ id: rolloutId, status: "succeeded" });
    expect(events.at(-1)?.type).toBe("rollout_succeeded");
    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    // Exactly what the paged events endpoint has, in the same order.
    const page = (await (await api.request(`/v1/rollouts/${rolloutId}/events?limit=1000`)).json()) as {
      events: EventJson[];
    };
    expect(ids).toEqual(page.events.map((e) => e.id));
    seen = events;
  });

  it("resumes after `after` or an EventSource's Last-Event-ID, and ends at once for a finished rollout", async () => {
    const from = seen[1]?.id ?? 0;
    const expected = seen.filter((e) => e.id > from).map((e) => e.id);
    for (const init of [
      { path: `/v1/rollouts/${rolloutId}/watch?after=${from}` },
      { path: `/v1/rollouts/${rolloutId}/watch`, headers: { "last-event-id": String(from) } },
    ]) {
      const response = await api.request(init.path, { headers: init.headers ?? {} });
      const got: number[] = [];
      let ended = false;
      for await (const message of messages(response)) {
        if (message.event === "end") ended = true;
        else got.push((JSON.parse(message.data) as EventJson).id);
      }
      expect(got).toEqual(expected);
      expect(ended).toBe(true);
    }
  });

  it("answers 404 for an unknown rollout and 400 for a bad id or `after`", async () => {
    const unknown = await api.request("/v1/rollouts/00000000-0000-4000-8000-000000000000/watch");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "not_found" } });
    const badId = await api.request("/v1/rollouts/nope/watch");
    expect(badId.status).toBe(400);
    const badAfter = await api.request(`/v1/rollouts/${rolloutId}/watch?after=-1`);
    expect(badAfter.status).toBe(400);
    expect(await badAfter.json()).toMatchObject({ error: { code: "invalid_input" } });
  });
});
