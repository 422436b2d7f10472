import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { closeTestServers, deadUrl, listen } from "../../test/support/http-servers.ts";
import { type PooledUpstream, type PooledUpstreamOptions, pooledUpstream } from "./pooled-upstream.ts";

// The transport on its own: the parts of fetch's contract the router relies on.

const upstreams: PooledUpstream[] = [];

afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
  await closeTestServers();
});

const upstream = (options?: PooledUpstreamOptions): PooledUpstream => {
  const made = pooledUpstream(options);
  upstreams.push(made);
  return made;
};

const rejection = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );

describe("pooledUpstream", () => {
  it("throws fetch's TypeError, with the socket error as cause, when the connection is refused", async () => {
    const error = await rejection(upstream()(new Request(`${await deadUrl()}/`)));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ message: "fetch failed", cause: { code: "ECONNREFUSED" } });
  });

  it("throws fetch's TypeError when the backend resets the connection before answering", async () => {
    const { url } = await listen((req) => req.socket.destroy());
    const error = await rejection(upstream()(new Request(url)));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ message: "fetch failed" });
  });

  it("gives up waiting for response headers after headersTimeoutMs", async () => {
    const { url } = await listen(() => {});
    const started = performance.now();
    const error = await rejection(upstream({ headersTimeoutMs: 200 })(new Request(url)));
    expect(error).toMatchObject({ message: "fetch failed", cause: { code: "UND_ERR_HEADERS_TIMEOUT" } });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("errors the body with 'terminated' when the backend dies mid-answer", async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
      setTimeout(() => res.destroy(), 20);
    });
    const response = await upstream()(new Request(url));
    await expect(response.text()).rejects.toThrow("terminated");
  });

  it("rejects with the signal's reason when aborted before the answer, and the backend sees the hang-up", async () => {
    let hungUp: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      hungUp = resolve;
    });
    const { url } = await listen((req) => req.socket.on("close", hungUp));
    const controller = new AbortController();
    const pending = upstream()(new Request(url, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    const error = await rejection(pending);
    expect(error).toMatchObject({ name: "AbortError" });
    await closed;
  });

  it("rejects at once with a signal that is already aborted", async () => {
    const { url, sockets } = await listen((_req, res) => res.end());
    const error = await rejection(upstream()(new Request(url, { signal: AbortSignal.abort() })));
    expect(error).toMatchObject({ name: "AbortError" });
    expect(sockets).toHaveLength(0);
  });

  it("errors the body with the signal's reason when aborted mid-answer", async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(200);
      res.write("first");
    });
    const controller = new AbortController();
    const response = await upstream()(new Request(url, { signal: controller.signal }));
    const reader = response.body?.getReader();
    if (reader === undefined) throw new Error("expected a body");
    expect((await reader.read()).done).toBe(false);
    controller.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: "AbortError" });
  });

  it("decodes gzip but leaves content-encoding and content-length as they came, as fetch does", async () => {
    const encoded = gzipSync("decoded text");
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { "content-encoding": "gzip", "content-length": encoded.length }).end(encoded);
    });
    const response = await upstream()(new Request(url));
    expect(response.headers.get("content-encoding")).toBe("gzip");
    expect(response.headers.get("content-length")).toBe(String(encoded.length));
    expect(await response.text()).toBe("decoded text");
  });

  it("sends the path and query but never the fragment", async () => {
    const { url } = await listen((req, res) => res.end(req.url));
    const response = await upstream()(new Request(`${url}/a/b?c=1&d=%20#fragment`));
    expect(await response.text()).toBe("/a/b?c=1&d=%20");
  });

  it("keeps the headers about its own connection to the backend to itself", async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "keep-alive": "timeout=5" });
      res.write("chunked ");
      res.end("body");
    });
    const response = await upstream()(new Request(url));
    expect(response.headers.get("content-type")).toBe("text/plain");
    expect(response.headers.get("connection")).toBeNull();
    expect(response.headers.get("keep-alive")).toBeNull();
    expect(response.headers.get("transfer-encoding")).toBeNull();
    expect(await response.text()).toBe("chunked body");
  });

  it("errors the body, rather than hanging, when a gzip answer is corrupt", async () => {
    const corrupt = Buffer.from(gzipSync("x".repeat(10_000)));
    corrupt.fill(0x55, 10, 40);
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { "content-encoding": "gzip", "content-length": corrupt.length }).end(corrupt);
    });
    const response = await upstream()(new Request(url));
    await expect(response.text()).rejects.toThrow("terminated");
  });

  it("keeps a caller's accept-encoding and asks for identity with a range", async () => {
    const { url } = await listen((req, res) => res.end(String(req.headers["accept-encoding"])));
    const send = upstream();
    expect(await (await send(new Request(url, { headers: { "accept-encoding": "br" } }))).text()).toBe("br");
    expect(await (await send(new Request(url, { headers: { range: "bytes=0-1" } }))).text()).toBe("identity");
  });

  it("stops reading from the backend while the body is not read, and goes on when it is", async () => {
    const chunk = "x".repeat(64 * 1024);
    let written = 0;
    let blocked = false;
    const { url } = await listen((_req, res) => {
      const pump = () => {
        blocked = false;
        while (written < 400) {
          written += 1;
          if (!res.write(chunk)) {
            blocked = true;
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const response = await upstream()(new Request(url));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // 25 MB would fit in memory at once; a paused socket leaves the backend blocked well before.
    expect(written).toBeLessThan(400);
    expect(blocked).toBe(true);
    expect((await response.arrayBuffer()).byteLength).toBe(400 * chunk.length);
  });

  it("cancelling the body closes the connection to the backend", async () => {
    let hungUp: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      hungUp = resolve;
    });
    const { url } = await listen((req, res) => {
      req.socket.on("close", hungUp);
      res.writeHead(200);
      res.write("first");
    });
    const response = await upstream()(new Request(url));
    await response.body?.cancel();
    await closed;
  });

  it("close() ends the pooled connections", async () => {
    let hungUp: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      hungUp = resolve;
    });
    const { url, sockets } = await listen((req, res) => {
      req.socket.once("close", hungUp);
      res.end("ok");
    });
    const send = pooledUpstream();
    expect(await (await send(new Request(url))).text()).toBe("ok");
    expect(sockets).toHaveLength(1);
    await send.close();
    await closed;
    await expect(send(new Request(url))).rejects.toThrow(TypeError);
  });

  it("close() cuts off a stream that is still going once closeGraceMs has passed", async () => {
    let hungUp: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      hungUp = resolve;
    });
    const { url } = await listen((req, res) => {
      req.socket.on("close", hungUp);
      res.writeHead(200);
      res.write("never ends");
    });
    const send = pooledUpstream({ closeGraceMs: 100 });
    const response = await send(new Request(url));
    const started = performance.now();
    await send.close();
    expect(performance.now() - started).toBeLessThan(2_000);
    await closed;
    await expect(response.text()).rejects.toThrow();
  });
});
