import type { ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { createApi } from "#api";
import { DevsimError } from "#core";
import { appendEvent, findWorkload } from "#store";
import { main } from "../../packages/cli/main.ts";
import { parseWatchOptions } from "../../packages/cli/options.ts";
import { listen } from "../../packages/cli/serve.ts";
import { runWatchCommand } from "../../packages/cli/watch.ts";
import { workloadInput } from "../support/fixtures.ts";
import { type Harness, harnessApi, startHarness } from "../support/harness.ts";
import { closeTestServers, deadUrl, listen as listenTest } from "../support/http-servers.ts";
import { type Sse, sseMessages } from "../support/sse.ts";

let h: Harness;
let api: ReturnType<typeof createApi>;
let apiUrl = "";
let stopApi: () => Promise<void> = async () => {};

beforeAll(async () => {
  h = await startHarness();
  api = harnessApi(h, { watchPollMs: 20 });
  const served = await listen(api.fetch, "127.0.0.1", 0, "API");
  apiUrl = served.url;
  stopApi = served.close;
});
afterAll(async () => {
  await closeTestServers();
  await stopApi();
  await h?.close();
});

interface EventJson {
  id: number;
  type: string;
  rolloutId: string;
}

const create = async (name = "watched"): Promise<string> => {
  const res = await api.request("/v1/workloads", {
    method: "POST",
    body: JSON.stringify(workloadInput(name)),
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
    const stream = sseMessages(response);

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

  it("resumes after `after` or an EventSource's Last-Event-ID (the later of the two), and ends at once for a finished rollout", async () => {
    const from = seen[1]?.id ?? 0;
    const expected = seen.filter((e) => e.id > from).map((e) => e.id);
    for (const init of [
      { path: `/v1/rollouts/${rolloutId}/watch?after=${from}` },
      { path: `/v1/rollouts/${rolloutId}/watch`, headers: { "last-event-id": String(from) } },
      // An EventSource opened with `after` comes back to the same URL with a later Last-Event-ID.
      {
        path: `/v1/rollouts/${rolloutId}/watch?after=${seen[0]?.id ?? 0}`,
        headers: { "last-event-id": String(from) },
      },
    ]) {
      const response = await api.request(init.path, { headers: init.headers ?? {} });
      const got: number[] = [];
      let ended = false;
      for await (const message of sseMessages(response)) {
        if (message.event === "end") ended = true;
        else got.push((JSON.parse(message.data) as EventJson).id);
      }
      expect(got).toEqual(expected);
      expect(ended).toBe(true);
    }
  });

  it("sends an event whose transaction committed after a later one's", async () => {
    const id = await create("late");
    const workload = await findWorkload(h.deps.sql, "late");
    if (workload === null) throw new Error("no workload");
    const stream = sseMessages(await api.request(`/v1/rollouts/${id}/watch`));
    const first = await stream.next();
    expect(first.done).toBe(false);

    let commit: () => void = () => {};
    let inserted: () => void = () => {};
    const insertedFirst = new Promise<void>((resolve) => {
      inserted = resolve;
    });
    const held = h.deps.sql.begin(async (tx) => {
      await appendEvent(tx, {
        workloadId: workload.id,
        rolloutId: id,
        type: "held",
        message: "written first",
      });
      inserted();
      await new Promise<void>((resolve) => {
        commit = resolve;
      });
    });
    // The held insert has its id; the next one takes a higher id and commits before it.
    await insertedFirst;
    await appendEvent(h.deps.sql, {
      workloadId: workload.id,
      rolloutId: id,
      type: "quick",
      message: "committed first",
    });

    const types: string[] = [];
    const ids: number[] = [];
    const sseIds: (string | undefined)[] = [];
    for (;;) {
      const next = await stream.next();
      if (next.done) throw new Error("the stream ended");
      const event = JSON.parse(next.value.data) as EventJson;
      types.push(event.type);
      ids.push(event.id);
      sseIds.push(next.value.id);
      if (event.type === "quick") commit();
      if (event.type === "held") break;
    }
    await held;
    expect(types.slice(-2)).toEqual(["quick", "held"]);
    // Sent after a higher id, the late one comes with that id as its SSE id: nothing is asked for twice.
    expect(ids.at(-1)).toBeLessThan(ids.at(-2) ?? 0);
    expect(sseIds.slice(-2)).toEqual([String(ids.at(-2)), String(ids.at(-2))]);
    await stream.return(undefined);
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

/** Runs `devsim watch` on `target` to its end; its exit code and output. */
const watchOutput = async (target: string, url: string): Promise<{ code: number; out: string }> => {
  let out = "";
  const code = await runWatchCommand({ target, apiUrl: url, json: false }, (text) => {
    out += text;
  });
  return { code, out };
};

/** Runs `devsim watch` on `target` while the reconciler moves the rollout; its exit code and output. */
const watchWhileDriving = async (target: string, url: string): Promise<{ code: number; out: string }> => {
  let ended = false;
  const watching = watchOutput(target, url).finally(() => {
    ended = true;
  });
  await h.drive(async () => ended);
  return watching;
};

/**
 * A stand-in API whose watch answers the first request with `first(res)` and every later one with
 * the rollout's end; the paths it was asked for.
 */
const fakeWatchApi = async (first: (res: ServerResponse) => void) => {
  const asked: string[] = [];
  const { url } = await listenTest((req, res) => {
    asked.push(req.url ?? "");
    res.writeHead(200, { "content-type": "text/event-stream" });
    if (asked.length === 1) first(res);
    else res.end('event: end\ndata: {"id":"r","status":"succeeded"}\n\n');
  });
  return { url, asked };
};
const STARTED =
  'id: 7\ndata: {"type":"rollout_started","message":"started","createdAt":"2026-11-22T10:00:00Z"}\n\n';

describe("devsim watch", () => {
  it("follows a workload's newest rollout live and exits 0 when it succeeds", async () => {
    const id = await create("followed");
    const { code, out } = await watchWhileDriving("followed", apiUrl);
    expect(code).toBe(0);
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toBe(`Watching rollout ${id}`);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d {2}rollout_started +\S/);
    expect(lines.at(-2)).toMatch(/ rollout_succeeded /);
    expect(lines.at(-1)).toBe(`Rollout ${id} succeeded`);
  });

  it("exits 1 for a rollout that ended any other way, and prints JSON lines with --json", async () => {
    const id = await create("stopped");
    const aborted = await api.request(`/v1/rollouts/${id}/abort`, { method: "POST" });
    expect(aborted.status).toBe(200);
    const lines: string[] = [];
    const code = await runWatchCommand({ target: id, apiUrl, json: true }, (text) => {
      lines.push(text);
    });
    expect(code).toBe(1);
    const parsed = lines.map((line) => JSON.parse(line) as { type?: string; status?: string });
    expect(parsed[0]).toMatchObject({ type: "rollout_started" });
    expect(parsed.at(-1)).toMatchObject({ id, status: "aborted" });
  });

  it("picks a stream that ended early up again after the last event it saw", async () => {
    const { url, asked } = await fakeWatchApi((res) => res.end(STARTED));
    const rollout = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
    const { code, out } = await watchOutput(rollout, url);
    expect(code).toBe(0);
    expect(asked).toEqual([`/v1/rollouts/${rollout}/watch`, `/v1/rollouts/${rollout}/watch?after=7`]);
    expect(out).toBe(
      `Watching rollout ${rollout}\n10:00:00  rollout_started          started\nRollout r succeeded\n`,
    );
  });

  it("comes back after a connection that dropped mid-stream, from the last event it saw", async () => {
    const { url, asked } = await fakeWatchApi((res) => {
      res.write(`retry: 10\n${STARTED}`);
      // Cut in the middle of the chunked body, as a dropped connection is.
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const rollout = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
    const { code, out } = await watchOutput(rollout, url);
    expect(code).toBe(0);
    expect(asked).toEqual([`/v1/rollouts/${rollout}/watch`, `/v1/rollouts/${rollout}/watch?after=7`]);
    expect(out).toMatch(/\(the connection dropped: .+; trying again in 1 s\)\nRollout r succeeded\n$/);
  });

  it("follows a rollout to its end through an API that answers watches as long polls", async () => {
    const longPoll = harnessApi(h, { watchPollMs: 20, watchLongPollMs: 300 });
    const served = await listen(longPoll.fetch, "127.0.0.1", 0, "API");
    try {
      const id = await create("polled");
      // Each answer ends once it has sent events, and tells an EventSource to come back soon.
      const first = await (await longPoll.request(`/v1/rollouts/${id}/watch`)).text();
      expect(first).toMatch(/^retry: 100\n\n/);
      expect(first).toContain('"type":"rollout_started"');
      expect(first).not.toContain("event: end");

      const { code, out } = await watchWhileDriving(id, served.url);
      expect(code).toBe(0);
      expect(out.match(/ rollout_started /g)).toHaveLength(1);
      expect(out.trimEnd().split("\n").at(-1)).toBe(`Rollout ${id} succeeded`);
    } finally {
      await served.close();
    }
  });

  it("names what is wrong: an unknown workload, an unreachable API, bad arguments", async () => {
    await expect(runWatchCommand({ target: "nobody", apiUrl, json: false })).rejects.toThrow(
      "workload 'nobody' not found",
    );
    const dead = await deadUrl();
    const unreachable = runWatchCommand({ target: "followed", apiUrl: dead, json: false });
    await expect(unreachable).rejects.toBeInstanceOf(DevsimError);
    await expect(unreachable).rejects.toThrow(`cannot reach the API at ${dead}`);

    // A watch that keeps failing: tried again as the API asks (here after 10 ms), then given up.
    let tries = 0;
    const { url: broken } = await listenTest((_req, res) => {
      tries += 1;
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(
        'retry: 10\nevent: error\ndata: {"error":{"code":"unavailable","message":"the database is unreachable"}}\n\n',
      );
    });
    const rolloutA = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
    let said = "";
    await expect(
      runWatchCommand({ target: rolloutA, apiUrl: broken, json: false }, (text) => {
        said += text;
      }),
    ).rejects.toThrow("the watch stopped before the rollout finished: the database is unreachable");
    expect(tries).toBe(6);
    expect(said).toContain("(the database is unreachable; trying again in 1 s)");

    // Something that is not the API: said, not waited on.
    const { url: elsewhere } = await listenTest((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" }).end("<html></html>");
    });
    await expect(
      runWatchCommand({ target: rolloutA, apiUrl: elsewhere, json: false }, () => {}),
    ).rejects.toThrow("answered with text/html, not an event stream: is --api-url the devsim API?");

    expect(() => parseWatchOptions([], {})).toThrow("a rollout id or a workload name is required");
    expect(() => parseWatchOptions(["x", "--api-url", "ftp://h"], {})).toThrow(/--api-url/);
    expect(parseWatchOptions(["x"], { DEVSIM_API_URL: "http://h:1" }).apiUrl).toBe("http://h:1");
    // A function URL comes with a trailing slash.
    expect(parseWatchOptions(["x", "--api-url", "https://abc.lambda-url.on.aws/"], {}).apiUrl).toBe(
      "https://abc.lambda-url.on.aws",
    );
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(await main(["watch"])).toBe(2);
      expect(await main(["watch", "nobody", "--api-url", apiUrl])).toBe(1);
      expect(stderr.mock.calls.map((c) => String(c[0]))).toEqual([
        "devsim: a rollout id or a workload name is required\n",
        "devsim: workload 'nobody' not found\n",
      ]);
    } finally {
      stderr.mockRestore();
    }
  });
});
