import type { IncomingHttpHeaders } from "node:http";
import { request as httpRequest } from "node:http";
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { getRequestListener } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { afterEach, describe, expect, it } from "vitest";
import type { Backend, RoutingTable } from "#core";
import { createRouter, OutcomeCounters, staticTableSource } from "#router";
import { closeTestServers, deadUrl, listen } from "../../test/support/http-servers.ts";
import { type PooledUpstream, pooledUpstream } from "./pooled-upstream.ts";

// The router with the pooled upstream as its transport, against real node:http backends.

interface Echo {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const upstreams: PooledUpstream[] = [];

afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
  await closeTestServers();
});

const upstream = (): PooledUpstream => {
  const made = pooledUpstream();
  upstreams.push(made);
  return made;
};

const echoBackend = async (name: string) =>
  listen(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    res.setHeader("content-type", "application/json");
    res.setHeader("set-cookie", ["a=1", "b=2"]);
    res.end(
      JSON.stringify({
        name,
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      } satisfies Echo),
    );
  });

const backend = (revision: number, weight: number, url: string): Backend => ({
  cloud: revision === 1 ? "aws" : "digitalocean",
  region: revision === 1 ? "us-east-1" : "fra1",
  revision,
  weight,
  url,
});

const tableOf = (...backends: Backend[]): RoutingTable => ({ workload: "shop", version: 1, backends });

const routerTo = (...backends: Backend[]) =>
  createRouter({ table: staticTableSource([tableOf(...backends)]), fetch: upstream(), random: () => 0 });

describe("router with the pooled upstream", () => {
  it("forwards method, path, query and headers, and relays status, headers and body", async () => {
    const stable = await echoBackend("stable");
    const app = routerTo(backend(1, 100, stable.url));
    const response = await app.request("/w/shop/cart/items?id=7&tag=a%20b", {
      method: "DELETE",
      headers: { host: "router.example.com", accept: "application/json", "x-custom": "kept" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-devsim-backend")).toBe("aws/us-east-1/1");
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    const echo = (await response.json()) as Echo;
    expect(echo).toMatchObject({ name: "stable", method: "DELETE", url: "/cart/items?id=7&tag=a%20b" });
    expect(echo.headers).toMatchObject({
      host: new URL(stable.url).host,
      accept: "application/json",
      "x-custom": "kept",
      "x-forwarded-host": "router.example.com",
      // The router drops the client's accept-encoding; the transport asks for what it can decode, as fetch.
      "accept-encoding": "gzip, deflate",
    });
  });

  it("relays a status other than 200 with its reason and a redirect without following it", async () => {
    const { url } = await listen((req, res) => {
      if (req.url === "/old") res.writeHead(307, { location: "/next" }).end();
      else res.writeHead(418, "Short And Stout", { "content-type": "text/plain" }).end("teapot");
    });
    const app = routerTo(backend(1, 100, url));
    const redirect = await app.request("/w/shop/old");
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get("location")).toBe("/next");
    const teapot = await app.request("/w/shop/brew");
    expect(teapot.status).toBe(418);
    expect(teapot.statusText).toBe("Short And Stout");
    expect(await teapot.text()).toBe("teapot");
  });

  it("answers HEAD and 204 without a body", async () => {
    const { url } = await listen((req, res) => {
      if (req.method === "HEAD") res.writeHead(200, { "content-length": "5" }).end();
      else res.writeHead(204).end();
    });
    const app = routerTo(backend(1, 100, url));
    const head = await app.request("/w/shop/", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("5");
    expect(head.body).toBeNull();
    const empty = await app.request("/w/shop/", { method: "DELETE" });
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });

  it("forwards a POST body of a megabyte and relays an answer of a megabyte, byte for byte", async () => {
    const stable = await echoBackend("stable");
    const app = routerTo(backend(1, 100, stable.url));
    const body = Array.from({ length: 1 << 20 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
    const response = await app.request("/w/shop/orders", {
      method: "POST",
      body,
      headers: { "content-type": "text/plain" },
    });
    const echo = (await response.json()) as Echo;
    expect(echo.method).toBe("POST");
    expect(echo.headers["content-type"]).toBe("text/plain");
    expect(echo.body.length).toBe(body.length);
    expect(echo.body === body).toBe(true);
  });

  it("relays a streamed answer as it comes", async () => {
    let finish: () => void = () => {};
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first;");
      finish = () => res.end("second");
    });
    const app = routerTo(backend(1, 100, url));
    const response = await app.request("/w/shop/stream");
    const reader = response.body?.getReader();
    if (reader === undefined) throw new Error("expected a body");
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("first;");
    finish();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value);
    }
    expect(rest).toBe("second");
  });

  it("streams a request body to the backend before the client has sent all of it", async () => {
    let sawFirst: (chunk: string) => void = () => {};
    const firstArrived = new Promise<string>((resolve) => {
      sawFirst = resolve;
    });
    const { url } = await listen(async (req, res) => {
      let received = "";
      for await (const chunk of req) {
        if (received === "") sawFirst(String(chunk));
        received += String(chunk);
      }
      res.end(`got ${received}`);
    });
    const app = createRouter({
      table: staticTableSource([tableOf(backend(1, 100, url))]),
      fetch: upstream(),
    });
    const router = await listen(getRequestListener(app.fetch));
    const answer = new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${router.url}/w/shop/upload`, { method: "POST" }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve(text));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.write("part-one;");
      // The rest is sent only once the backend has seen the first part: proof it was not buffered.
      void firstArrived.then(() => req.end("part-two"));
    });
    expect(await firstArrived).toBe("part-one;");
    expect(await answer).toBe("got part-one;part-two");
  });

  it.each([
    ["gzip", gzipSync],
    ["x-gzip", gzipSync],
    ["deflate", deflateSync],
    ["deflate", deflateRawSync],
    ["br", brotliCompressSync],
  ])("relays a %s-encoded answer decoded, without the encoding headers", async (coding, compress) => {
    const text = "hello ".repeat(10_000);
    const { url } = await listen((_req, res) => {
      const encoded = compress(text);
      res.writeHead(200, {
        "content-type": "text/plain",
        "content-encoding": coding,
        "content-length": encoded.length,
      });
      res.end(encoded);
    });
    const app = routerTo(backend(1, 100, url));
    const response = await app.request("/w/shop/", { headers: { "accept-encoding": "gzip" } });
    expect(response.headers.get("content-encoding")).toBeNull();
    expect(response.headers.get("content-length")).toBeNull();
    expect(await response.text()).toBe(text);
  });

  it("decodes codings applied one after the other, the last first", async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { "content-encoding": "deflate, gzip" }).end(gzipSync(deflateSync("twice")));
    });
    const response = await routerTo(backend(1, 100, url)).request("/w/shop/");
    expect(await response.text()).toBe("twice");
  });

  it("passes an unknown coding through untouched, as fetch does", async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { "content-encoding": "snappy" }).end("not decoded");
    });
    const response = await upstream()(new Request(url));
    expect(response.headers.get("content-encoding")).toBe("snappy");
    expect(await response.text()).toBe("not decoded");
  });

  it("retries a GET that finds a closed port on the live backend, and counts both", async () => {
    const dead = await deadUrl();
    const live = await echoBackend("live");
    const counters = new OutcomeCounters();
    const app = createRouter({
      table: staticTableSource([tableOf(backend(1, 99, dead), backend(2, 1, live.url))]),
      fetch: upstream(),
      random: () => 0,
      counters,
    });
    const response = await app.request("/w/shop/status");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-devsim-backend")).toBe("digitalocean/fra1/2");
    expect(await response.json()).toMatchObject({ name: "live", url: "/status" });
    expect(counters.snapshot().series).toMatchObject([
      { revision: 1, requests: 1, serverErrors: 1 },
      { revision: 2, requests: 1, serverErrors: 0 },
    ]);
  });

  it("retries a PUT that finds a closed port with its whole body", async () => {
    const dead = await deadUrl();
    const live = await echoBackend("live");
    const app = routerTo(backend(1, 99, dead), backend(2, 1, live.url));
    const body = "document ".repeat(50_000);
    const response = await app.request("/w/shop/doc", { method: "PUT", body });
    expect(response.status).toBe(200);
    const echo = (await response.json()) as Echo;
    expect(echo).toMatchObject({ name: "live", method: "PUT" });
    expect(echo.body === body).toBe(true);
  });

  it("answers 502 for a POST that finds a closed port", async () => {
    const dead = await deadUrl();
    const live = await echoBackend("live");
    const response = await routerTo(backend(1, 99, dead), backend(2, 1, live.url)).request("/w/shop/orders", {
      method: "POST",
      body: "{}",
    });
    expect(response.status).toBe(502);
    expect(live.sockets).toHaveLength(0);
  });

  it("serves many requests over the same few connections", async () => {
    const stable = await echoBackend("stable");
    const app = createRouter({
      table: staticTableSource([tableOf(backend(1, 100, stable.url))]),
      fetch: upstream(),
      getConnInfo,
    });
    const router = await listen(getRequestListener(app.fetch));
    for (let i = 0; i < 50; i++) {
      const response = await fetch(`${router.url}/w/shop/${i}`);
      expect(((await response.json()) as Echo).url).toBe(`/${i}`);
    }
    expect(stable.sockets).toHaveLength(1);
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => fetch(`${router.url}/w/shop/${i}`).then((r) => r.json())),
      );
      expect(answers).toHaveLength(8);
    }
    // Eight at a time need at most eight connections, whatever the rounds.
    expect(stable.sockets.length).toBeGreaterThan(1);
    expect(stable.sockets.length).toBeLessThanOrEqual(8);
  });
});
