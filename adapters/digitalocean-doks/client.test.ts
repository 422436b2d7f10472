import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { z } from "zod";
import { AdapterError, RetryPolicy, type RetryPolicyInput } from "#core";
import { type DigitalOceanFake, startDigitalOceanFake } from "../../test/fakes/digitalocean.ts";
import { deadUrl } from "../../test/support/http-servers.ts";
import { createDoClient, type DoClient } from "./client.ts";
import { DoApiError } from "./errors.ts";

const List = z.object({ kubernetes_clusters: z.array(z.unknown()) });
const LIST = "/v2/kubernetes/clusters";

describe("the DigitalOcean API client", () => {
  let api: DigitalOceanFake;

  beforeAll(async () => {
    api = await startDigitalOceanFake({ throttleRetryAfterSeconds: 0 });
    api.addCluster({ name: "one", region: "fra1" });
  });
  afterAll(async () => {
    await api?.close();
  });
  afterEach(async () => {
    await api.faults.clear();
    api.spendRateLimit(-1);
    api.requests.length = 0;
  });

  const client = (
    retry: RetryPolicyInput = { attempts: 4, baseMs: 1, maxMs: 5 },
    timeoutMs = 2_000,
  ): DoClient =>
    createDoClient({ apiUrl: api.url, token: api.token, timeoutMs, retry: RetryPolicy.parse(retry) });

  test("sends the bearer token, validates the answer and remembers the rate limit it reports", async () => {
    const c = client();
    const answer = await c.request("list", "GET", LIST, List);
    expect(answer.kubernetes_clusters).toHaveLength(1);
    expect(api.requests[0]?.headers).toMatchObject({
      authorization: `Bearer ${api.token}`,
      accept: "application/json",
    });
    expect(c.rateLimit()).toMatchObject({ limit: 5000, remaining: 4999 });
  });

  test("throttling (429) waits its Retry-After and tries again", async () => {
    const slow = await startDigitalOceanFake({ throttleRetryAfterSeconds: 1 });
    try {
      const c = createDoClient({
        apiUrl: slow.url,
        token: slow.token,
        timeoutMs: 2_000,
        retry: RetryPolicy.parse({ baseMs: 1, maxMs: 1 }),
      });
      await slow.faults.inject("throttle", 1);
      const started = performance.now();
      await c.request("list", "GET", LIST, List);
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
      expect(slow.requests).toHaveLength(2);
    } finally {
      await slow.close();
    }
  });

  test("a spent rate limit holds the next request back until its reset", async () => {
    const c = client({ attempts: 3, baseMs: 1, maxMs: 1, budgetMs: 5_000 });
    api.spendRateLimit(1);
    // The first answer is the 429 that reveals the spent limit; the client then waits for the reset.
    const started = performance.now();
    await c.request("list", "GET", LIST, List);
    expect(performance.now() - started).toBeGreaterThanOrEqual(500);
    expect(api.requests).toHaveLength(2);
  });

  test("a spent rate limit that resets beyond the budget is throttled at once, without sending", async () => {
    const c = client({ attempts: 5, baseMs: 1, maxMs: 1, budgetMs: 1_000 });
    await c.request("list", "GET", LIST, List);
    api.spendRateLimit(3_600);
    await expect(c.request("list", "GET", LIST, List)).rejects.toMatchObject({ failure: "throttled" });
    const sent = api.requests.length;
    const error = await c.request("list", "GET", LIST, List).catch((e: unknown) => e);
    expect(error).toMatchObject({ failure: "throttled", message: expect.stringContaining("not sent") });
    expect((error as AdapterError).cause).toBeInstanceOf(DoApiError);
    expect(api.requests).toHaveLength(sent);
  });

  test("5xx answers and silent calls are retried", async () => {
    await api.faults.inject("server-error", 2);
    await client().request("list", "GET", LIST, List);
    expect(api.requests).toHaveLength(3);
    await api.faults.inject("timeout", 1);
    await expect(client(undefined, 200).request("list", "GET", LIST, List)).resolves.toBeDefined();
  });

  test("what never succeeds surfaces as the last failure: server error, timeout, unreachable", async () => {
    await api.faults.inject("server-error", 10);
    await expect(
      client({ attempts: 2, baseMs: 1, maxMs: 1 }).request("list", "GET", LIST, List),
    ).rejects.toMatchObject({
      failure: "unavailable",
      message: expect.stringContaining("server_error"),
    });
    await api.faults.clear();
    await api.faults.inject("timeout", 10);
    await expect(client({ attempts: 1 }, 100).request("list", "GET", LIST, List)).rejects.toMatchObject({
      failure: "timeout",
    });
    const nowhere = createDoClient({
      apiUrl: await deadUrl(),
      token: "t",
      timeoutMs: 1_000,
      retry: RetryPolicy.parse({ attempts: 1 }),
    });
    await expect(nowhere.request("list", "GET", LIST, List)).rejects.toMatchObject({
      failure: "unavailable",
    });
  });

  test("an answer of the wrong shape is unavailable, and not retried", async () => {
    const error = await client()
      .request("list", "GET", LIST, z.object({ droplets: z.array(z.unknown()) }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error).toMatchObject({
      failure: "unavailable",
      message: expect.stringContaining("unexpected answer"),
    });
    expect(api.requests).toHaveLength(1);
  });
});
