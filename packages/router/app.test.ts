import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Backend, RoutingTable } from "#core";
import { createRouter, type RouterOptions, trafficRouter, type Upstream } from "./app.ts";
import { OutcomeCounters } from "./outcomes.ts";
import { type RoutingTableSource, staticTableSource } from "./table-source.ts";

const backend = (
  cloud: Backend["cloud"],
  region: string,
  revision: number,
  weight: number,
  url: string,
): Backend => ({
  cloud,
  region,
  revision,
  weight,
  url,
});

const stable = backend("aws", "us-east-1", 1, 90, "http://stable.test");
const canary = backend("gcp", "europe-west1", 2, 10, "http://canary.test/");
const shop: RoutingTable = { workload: "shop", version: 3, backends: [stable, canary] };

/** An upstream that records what it was sent and answers with `respond`. */
const fakeUpstream = (
  respond: (request: Request) => Response | Promise<Response> = () => new Response("ok"),
) => {
  const seen: Request[] = [];
  const fetch: Upstream = async (request) => {
    seen.push(request);
    return respond(request);
  };
  return { fetch, seen };
};

const refused = (): never => {
  throw new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED") });
};

/** Random numbers from a fixed list, so each pick is chosen by the test. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
};

const routerWith = (overrides: Partial<RouterOptions> = {}) => {
  const counters = new OutcomeCounters();
  const upstream = fakeUpstream();
  const app = createRouter({
    table: staticTableSource([shop]),
    fetch: upstream.fetch,
    random: () => 0,
    counters,
    ...overrides,
  });
  return { app, counters, seen: upstream.seen };
};

const errorOf = async (response: Response) => (await response.json()) as { error: Record<string, unknown> };

afterEach(() => {
  vi.restoreAllMocks();
});

describe("createRouter: resolving and picking", () => {
  it("proxies /w/<workload>/rest to the picked backend with the prefix stripped and the query kept", async () => {
    const { app, seen } = routerWith();
    const response = await app.request("/w/shop/cart/items?id=7&x=a%20b");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok");
    expect(response.headers.get("x-devsim-backend")).toBe("aws/us-east-1/1");
    expect(seen.map((r) => [r.method, r.url])).toEqual([
      ["GET", "http://stable.test/cart/items?id=7&x=a%20b"],
    ]);
  });

  it("maps /w/<workload> alone to /", async () => {
    const { app, seen } = routerWith();
    await app.request("/w/shop");
    await app.request("/w/shop?q=1");
    expect(seen.map((r) => r.url)).toEqual(["http://stable.test/", "http://stable.test/?q=1"]);
  });

  it("routes by the Host header, keeping the whole path", async () => {
    const { app, seen } = routerWith();
    const response = await app.request("/cart?x=1", { headers: { host: "shop.example.com:8443" } });
    expect(response.status).toBe(200);
    expect(seen.map((r) => r.url)).toEqual(["http://stable.test/cart?x=1"]);
  });

  it("routes by the URL's host when there is no Host header", async () => {
    const { app, seen } = routerWith();
    await app.request("https://shop.example.com/cart");
    expect(seen.map((r) => r.url)).toEqual(["http://stable.test/cart"]);
    expect(seen[0]?.headers.get("x-forwarded-host")).toBe("shop.example.com");
    expect(seen[0]?.headers.get("x-forwarded-proto")).toBe("https");
  });

  it("lets the path prefix win over the host", async () => {
    const blog: RoutingTable = {
      workload: "blog",
      version: 1,
      backends: [backend("azure", "eastus", 5, 100, "http://blog.test")],
    };
    const { app, seen } = routerWith({ table: staticTableSource([shop, blog]) });
    const response = await app.request("/w/blog/post", { headers: { host: "shop.example.com" } });
    expect(response.headers.get("x-devsim-backend")).toBe("azure/eastus/5");
    expect(seen.map((r) => r.url)).toEqual(["http://blog.test/post"]);
  });

  it("joins backend URLs with a trailing slash or a base path without doubling slashes", async () => {
    const based: RoutingTable = {
      workload: "shop",
      version: 1,
      backends: [backend("aws", "us-east-1", 1, 100, "http://based.test/base//")],
    };
    const { app, seen } = routerWith({ table: staticTableSource([based]) });
    await app.request("/w/shop/cart");
    expect(seen.map((r) => r.url)).toEqual(["http://based.test/base/cart"]);
  });

  it("picks by weight with the given random numbers", async () => {
    const { app, seen } = routerWith({ random: sequence(0, 0.899, 0.9, 0.999) });
    const names: (string | null)[] = [];
    for (let i = 0; i < 4; i++) names.push((await app.request("/w/shop/")).headers.get("x-devsim-backend"));
    expect(names).toEqual(["aws/us-east-1/1", "aws/us-east-1/1", "gcp/europe-west1/2", "gcp/europe-west1/2"]);
    expect(seen.map((r) => r.url)).toEqual([
      "http://stable.test/",
      "http://stable.test/",
      "http://canary.test/",
      "http://canary.test/",
    ]);
  });

  it("answers 404 not_found when no workload can be resolved", async () => {
    const { app, seen } = routerWith();
    for (const [path, host] of [
      ["/cart", "localhost:8080"],
      ["/cart", "127.0.0.1"],
      ["/w/", "localhost"],
    ] as const) {
      const response = await app.request(path, { headers: { host } });
      expect(response.status).toBe(404);
      expect(response.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await errorOf(response)).toEqual({
        error: { code: "not_found", message: expect.any(String), details: { workload: null } },
      });
    }
    expect(seen).toEqual([]);
  });

  it("answers 404 not_found naming the workload when it has no table", async () => {
    const { app, seen } = routerWith();
    const response = await app.request("/w/blog/post");
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toEqual({
      error: { code: "not_found", message: "workload 'blog' not found", details: { workload: "blog" } },
    });
    expect(seen).toEqual([]);
  });

  it("answers 503 unavailable when no backend has weight", async () => {
    const drained: RoutingTable = { workload: "shop", version: 9, backends: [{ ...stable, weight: 0 }] };
    for (const table of [drained, { ...drained, backends: [] }]) {
      const { app, seen, counters } = routerWith({ table: staticTableSource([table]) });
      const response = await app.request("/w/shop/");
      expect(response.status).toBe(503);
      expect(await errorOf(response)).toEqual({
        error: {
          code: "unavailable",
          message: expect.stringContaining("no backend"),
          details: { workload: "shop" },
        },
      });
      expect(seen).toEqual([]);
      expect(counters.snapshot().series).toEqual([]);
    }
  });

  it("answers 503 unavailable when the routing table cannot be read", async () => {
    const broken: RoutingTableSource = { get: () => Promise.reject(new Error("kv down")) };
    const { app } = routerWith({ table: broken });
    const response = await app.request("/w/shop/");
    expect(response.status).toBe(503);
    expect(await errorOf(response)).toMatchObject({
      error: { code: "unavailable", details: { workload: "shop" } },
    });
  });
});

describe("createRouter: what is sent and relayed", () => {
  it("forwards method, end-to-end headers and body, and sets the forwarding headers", async () => {
    const bodies: string[] = [];
    const upstream = fakeUpstream(async (request) => {
      bodies.push(await request.text());
      return new Response("created", { status: 201 });
    });
    const { app } = routerWith({
      fetch: upstream.fetch,
      getConnInfo: () => ({ remote: { address: "203.0.113.9", addressType: "IPv4" } }),
    });
    const response = await app.request("/w/shop/orders", {
      method: "POST",
      body: '{"qty":2}',
      headers: {
        host: "router.example.com",
        "content-type": "application/json",
        authorization: "Bearer t",
        connection: "keep-alive, x-hop",
        "x-hop": "1",
        "keep-alive": "timeout=5",
        "x-forwarded-for": "198.51.100.4",
      },
    });
    expect(response.status).toBe(201);
    expect(await response.text()).toBe("created");
    expect(bodies).toEqual(['{"qty":2}']);
    const sent = upstream.seen[0];
    expect(sent?.method).toBe("POST");
    expect(Object.fromEntries(sent?.headers ?? [])).toEqual({
      "content-type": "application/json",
      authorization: "Bearer t",
      "x-forwarded-for": "198.51.100.4, 203.0.113.9",
      "x-forwarded-host": "router.example.com",
      "x-forwarded-proto": "http",
    });
  });

  it("relays status, headers and body, dropping hop-by-hop headers and replacing x-devsim-backend", async () => {
    const upstream = fakeUpstream(() => {
      const headers = new Headers({
        "content-type": "text/plain",
        "x-devsim-backend": "forged",
        "keep-alive": "timeout=5",
        connection: "x-private",
        "x-private": "1",
        "x-app": "2",
      });
      headers.append("set-cookie", "a=1");
      headers.append("set-cookie", "b=2");
      return new Response("teapot", { status: 418, statusText: "I'm a teapot", headers });
    });
    const { app } = routerWith({ fetch: upstream.fetch });
    const response = await app.request("/w/shop/");
    expect(response.status).toBe(418);
    expect(response.statusText).toBe("I'm a teapot");
    expect(await response.text()).toBe("teapot");
    expect(response.headers.get("x-devsim-backend")).toBe("aws/us-east-1/1");
    expect(response.headers.get("x-app")).toBe("2");
    expect(response.headers.get("x-private")).toBeNull();
    expect(response.headers.get("keep-alive")).toBeNull();
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
  });

  it("hands on a response with immutable headers as a copy, hop-by-hop headers dropped", async () => {
    const upstream = fakeUpstream(() => {
      // Response.redirect's headers are immutable, like those of a response from fetch.
      const immutable = Response.redirect("http://stable.test/next", 307);
      expect(() => immutable.headers.set("x-test", "1")).toThrow(TypeError);
      return immutable;
    });
    const { app } = routerWith({ fetch: upstream.fetch });
    const response = await app.request("/w/shop/old");
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toBe("http://stable.test/next");
    expect(response.headers.get("x-devsim-backend")).toBe("aws/us-east-1/1");
  });

  it("hands on the transport's own response, body stream included, without copying it", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("streamed"));
        controller.close();
      },
    });
    const built = new Response(body, { headers: { connection: "close", "x-app": "1" } });
    const { app } = routerWith({ fetch: fakeUpstream(() => built).fetch });
    const response = await app.request("/w/shop/");
    expect(response).toBe(built);
    expect(response.body).toBe(body);
    expect(response.headers.get("x-devsim-backend")).toBe("aws/us-east-1/1");
    expect(response.headers.get("x-app")).toBe("1");
    expect(response.headers.get("connection")).toBeNull();
    expect(await response.text()).toBe("streamed");
  });

  it("passes redirects through instead of following them", async () => {
    const upstream = fakeUpstream((request) => {
      expect(request.redirect).toBe("manual");
      return new Response(null, { status: 302, headers: { location: "/elsewhere" } });
    });
    const { app } = routerWith({ fetch: upstream.fetch });
    const response = await app.request("/w/shop/old");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/elsewhere");
  });

  it.each([204, 304])("relays a %i without a body", async (status) => {
    const { app } = routerWith({ fetch: fakeUpstream(() => new Response(null, { status })).fetch });
    const response = await app.request("/w/shop/");
    expect(response.status).toBe(status);
    expect(response.body).toBeNull();
    expect(response.headers.get("x-devsim-backend")).toBe("aws/us-east-1/1");
  });

  it("sends HEAD as HEAD", async () => {
    const upstream = fakeUpstream(() => new Response(null, { headers: { "content-length": "42" } }));
    const { app } = routerWith({ fetch: upstream.fetch });
    const response = await app.request("/w/shop/file", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe("42");
    expect(response.headers.get("x-devsim-backend")).toBe("aws/us-east-1/1");
    expect(upstream.seen.map((r) => r.method)).toEqual(["HEAD"]);
  });

  it("relays an upstream 5xx as it is, without retrying", async () => {
    const upstream = fakeUpstream(() => new Response("boom", { status: 503 }));
    const { app, counters } = routerWith({ fetch: upstream.fetch });
    const response = await app.request("/w/shop/");
    expect(response.status).toBe(503);
    expect(await response.text()).toBe("boom");
    expect(upstream.seen).toHaveLength(1);
    expect(counters.snapshot().series).toMatchObject([{ revision: 1, requests: 1, serverErrors: 1 }]);
  });

  it("works as a named middleware behind the app's own routes", async () => {
    const upstream = fakeUpstream();
    const app = new Hono();
    app.get("/healthz", (c) => c.text("alive"));
    const middleware = trafficRouter({
      table: staticTableSource([shop]),
      fetch: upstream.fetch,
      random: () => 0,
    });
    app.all("*", middleware);
    expect(middleware.name).toBe("trafficRouter");
    expect(await (await app.request("/healthz")).text()).toBe("alive");
    expect((await app.request("/w/shop/x")).headers.get("x-devsim-backend")).toBe("aws/us-east-1/1");
    expect(upstream.seen.map((r) => r.url)).toEqual(["http://stable.test/x"]);
  });

  it("answers an unexpected failure with a JSON 500", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const { app } = routerWith({
      getConnInfo: () => {
        throw new Error("no socket here");
      },
    });
    const response = await app.request("/w/shop/");
    expect(response.status).toBe(500);
    expect(await errorOf(response)).toEqual({
      error: { code: "internal", message: "internal error", details: {} },
    });
    expect(logged).toHaveBeenCalledOnce();
  });
});

describe("createRouter: connection failures", () => {
  it.each(["GET", "HEAD", "OPTIONS", "DELETE"])("retries a %s once on another backend", async (method) => {
    const upstream = fakeUpstream((request) =>
      request.url.startsWith("http://stable.test") ? refused() : new Response("ok"),
    );
    const { app, counters } = routerWith({ fetch: upstream.fetch, random: sequence(0, 0.5) });
    const response = await app.request("/w/shop/x", { method });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-devsim-backend")).toBe("gcp/europe-west1/2");
    expect(upstream.seen.map((r) => [r.method, r.url])).toEqual([
      [method, "http://stable.test/x"],
      [method, "http://canary.test/x"],
    ]);
    expect(counters.snapshot().series).toMatchObject([
      { workload: "shop", cloud: "aws", region: "us-east-1", revision: 1, requests: 1, serverErrors: 1 },
      { workload: "shop", cloud: "gcp", region: "europe-west1", revision: 2, requests: 1, serverErrors: 0 },
    ]);
  });

  it("retries on another cloud first, and on the same cloud's other region when there is no other", async () => {
    const east = backend("aws", "us-east-1", 1, 45, "http://east.test");
    const west = backend("aws", "eu-west-1", 1, 45, "http://west.test");
    const gcp = backend("gcp", "europe-west1", 1, 10, "http://gcp.test");
    const upstream = fakeUpstream((request) =>
      request.url.startsWith("http://east.test") ? refused() : new Response("ok"),
    );
    // The retry's draw (0.1) would land on eu-west-1 among the other two by weight.
    const across = createRouter({
      table: staticTableSource([{ workload: "shop", version: 1, backends: [east, west, gcp] }]),
      fetch: upstream.fetch,
      random: sequence(0, 0.1),
    });
    const response = await across.request("/w/shop/");
    expect(response.headers.get("x-devsim-backend")).toBe("gcp/europe-west1/1");
    expect(upstream.seen.map((r) => r.url)).toEqual(["http://east.test/", "http://gcp.test/"]);

    const within = createRouter({
      table: staticTableSource([{ workload: "shop", version: 1, backends: [east, west] }]),
      fetch: upstream.fetch,
      random: sequence(0, 0.1),
    });
    expect((await within.request("/w/shop/")).headers.get("x-devsim-backend")).toBe("aws/eu-west-1/1");
  });

  it("sends a retried PUT the whole body again, even when the failed attempt read it", async () => {
    const bodies: string[] = [];
    const upstream = fakeUpstream(async (request) => {
      bodies.push(await request.text());
      return request.url.startsWith("http://stable.test") ? refused() : new Response(null, { status: 204 });
    });
    const { app } = routerWith({ fetch: upstream.fetch });
    const body = "x".repeat(200_000);
    const response = await app.request("/w/shop/doc", { method: "PUT", body });
    expect(response.status).toBe(204);
    expect(bodies).toEqual([body, body]);
  });

  it.each(["POST", "PATCH"])(
    "does not retry a %s and answers 502 bad_gateway naming the backend",
    async (method) => {
      const upstream = fakeUpstream(refused);
      const { app, counters } = routerWith({ fetch: upstream.fetch });
      const response = await app.request("/w/shop/orders", { method, body: "{}" });
      expect(response.status).toBe(502);
      expect(response.headers.get("x-devsim-backend")).toBe("aws/us-east-1/1");
      expect(await errorOf(response)).toEqual({
        error: {
          code: "bad_gateway",
          message: "backend aws/us-east-1/1 of workload 'shop' is unreachable",
          details: { workload: "shop", backend: { cloud: "aws", region: "us-east-1", revision: 1 } },
        },
      });
      expect(upstream.seen).toHaveLength(1);
      expect(counters.snapshot().series).toMatchObject([{ revision: 1, requests: 1, serverErrors: 1 }]);
    },
  );

  it("answers 502 naming the second backend when the retry fails too", async () => {
    const upstream = fakeUpstream(refused);
    const { app, counters } = routerWith({ fetch: upstream.fetch });
    const response = await app.request("/w/shop/");
    expect(response.status).toBe(502);
    expect(response.headers.get("x-devsim-backend")).toBe("gcp/europe-west1/2");
    expect(await errorOf(response)).toMatchObject({
      error: {
        code: "bad_gateway",
        details: { backend: { cloud: "gcp", region: "europe-west1", revision: 2 } },
      },
    });
    expect(upstream.seen).toHaveLength(2);
    expect(counters.snapshot().series).toMatchObject([
      { revision: 1, requests: 1, serverErrors: 1 },
      { revision: 2, requests: 1, serverErrors: 1 },
    ]);
  });

  it("does not retry on a backend without weight", async () => {
    const table: RoutingTable = {
      workload: "shop",
      version: 1,
      backends: [stable, { ...canary, weight: 0 }],
    };
    const upstream = fakeUpstream(refused);
    const { app } = routerWith({ table: staticTableSource([table]), fetch: upstream.fetch });
    const response = await app.request("/w/shop/");
    expect(response.status).toBe(502);
    expect(response.headers.get("x-devsim-backend")).toBe("aws/us-east-1/1");
    expect(upstream.seen).toHaveLength(1);
  });

  it("neither retries nor blames the backend when the client went away", async () => {
    const client = new AbortController();
    const upstream = fakeUpstream((request) => {
      client.abort();
      expect(request.signal.aborted).toBe(true);
      throw new DOMException("aborted", "AbortError");
    });
    const { app, counters } = routerWith({ fetch: upstream.fetch });
    await app.request(new Request("http://localhost/w/shop/", { signal: client.signal }));
    expect(upstream.seen).toHaveLength(1);
    expect(counters.snapshot().series).toEqual([]);
  });
});

describe("createRouter: counting", () => {
  it("records each attempt's status and latency against its backend and revision", async () => {
    const clock = sequence(1000, 1012.5, 2000, 2300);
    const upstream = fakeUpstream(
      (request) => new Response(null, { status: request.url.endsWith("/fail") ? 500 : 200 }),
    );
    const { app, counters } = routerWith({ fetch: upstream.fetch, now: clock, random: sequence(0, 0.95) });
    await app.request("/w/shop/ok");
    await app.request("/w/shop/fail");
    expect(counters.drain()).toEqual({
      bucketBoundsMs: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      series: [
        {
          workload: "shop",
          cloud: "aws",
          region: "us-east-1",
          revision: 1,
          requests: 1,
          serverErrors: 0,
          latencyBuckets: [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
          latencySumMs: 12.5,
        },
        {
          workload: "shop",
          cloud: "gcp",
          region: "europe-west1",
          revision: 2,
          requests: 1,
          serverErrors: 1,
          latencyBuckets: [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
          latencySumMs: 300,
        },
      ],
    });
  });

  it("counts nothing for requests that reach no backend", async () => {
    const { app, counters } = routerWith();
    await app.request("/w/blog/");
    await app.request("/nowhere");
    expect(counters.snapshot().series).toEqual([]);
  });
});
