import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DevsimError } from "#core";
import { queryInstant } from "./prometheus-api.ts";

// Stand-ins for a Prometheus that misbehaves in ways a real one rarely does on demand; the real
// server is exercised in prometheus-source.test.ts.
let server: Server | undefined;
afterEach(async () => {
  const running = server;
  server = undefined;
  if (running) {
    await new Promise<void>((resolve) => {
      running.close(() => resolve());
      running.closeAllConnections();
    });
  }
});

const serve = async (
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<string> => {
  const started = createServer(handler);
  server = started;
  await new Promise<void>((resolve) => started.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(started.address() as AddressInfo).port}`;
};

const answer =
  (status: number, body: string) =>
  (_request: IncomingMessage, response: ServerResponse): void => {
    response.writeHead(status, { "content-type": "application/json" }).end(body);
  };

const unavailable =
  (check: (error: DevsimError) => boolean = () => true) =>
  (error: unknown) =>
    error instanceof DevsimError && error.code === "unavailable" && check(error);

describe("queryInstant", () => {
  it("POSTs the query and time as a form to /api/v1/query and reads the vector", async () => {
    let seen: { method?: string; url?: string; type?: string; body?: string } = {};
    const baseUrl = await serve((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on("end", () => {
        seen = { method: request.method, url: request.url, type: request.headers["content-type"], body };
        answer(
          200,
          JSON.stringify({
            status: "success",
            data: {
              resultType: "vector",
              result: [
                { metric: { le: "0.005" }, value: [1767225600.5, "3"] },
                { metric: {}, value: [1767225600.5, "2.5"] },
              ],
            },
            warnings: ["ignored"],
          }),
        )(request, response);
      });
    });
    const samples = await queryInstant({ baseUrl: `${baseUrl}/` }, 'sum(up{job="a b"})', 1767225600500);
    expect(samples).toEqual([
      { labels: { le: "0.005" }, value: 3 },
      { labels: {}, value: 2.5 },
    ]);
    expect(seen.method).toBe("POST");
    expect(seen.url).toBe("/api/v1/query");
    expect(seen.type).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(seen.body))).toEqual({
      query: 'sum(up{job="a b"})',
      time: "1767225600.500",
    });
  });

  it("throws unavailable with Prometheus' error on an error answer", async () => {
    const baseUrl = await serve(
      answer(422, JSON.stringify({ status: "error", errorType: "execution", error: "too many samples" })),
    );
    await expect(queryInstant({ baseUrl }, "up", Date.now())).rejects.toSatisfy(
      unavailable(
        (e) =>
          e.details.status === 422 &&
          e.details.errorType === "execution" &&
          /too many samples/.test(e.message),
      ),
    );
  });

  it("throws unavailable on status error even with a 2xx", async () => {
    const baseUrl = await serve(
      answer(200, JSON.stringify({ status: "error", errorType: "internal", error: "odd proxy" })),
    );
    await expect(queryInstant({ baseUrl }, "up", Date.now())).rejects.toSatisfy(
      unavailable((e) => e.details.errorType === "internal"),
    );
  });

  it("throws unavailable on a non-2xx without a JSON body", async () => {
    const baseUrl = await serve((_request, response) => {
      response.writeHead(502, { "content-type": "text/html" }).end("<h1>Bad gateway</h1>");
    });
    await expect(queryInstant({ baseUrl }, "up", Date.now())).rejects.toSatisfy(
      unavailable((e) => e.details.status === 502 && e.cause instanceof SyntaxError),
    );
  });

  it("throws unavailable on an answer of the wrong shape or a sample that is not a number", async () => {
    let body: unknown;
    const baseUrl = await serve((request, response) => answer(200, JSON.stringify(body))(request, response));
    for (body of [
      { status: "success", data: { resultType: "matrix", result: [] } },
      { status: "success", data: { resultType: "vector", result: [{ metric: {}, value: ["1", "2"] }] } },
      { status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [1, "NaN"] }] } },
      { status: "maybe" },
    ]) {
      await expect(queryInstant({ baseUrl }, "up", Date.now())).rejects.toSatisfy(unavailable());
    }
  });

  it("throws unavailable when the server is too slow, within the timeout", async () => {
    const baseUrl = await serve(() => {
      // Never answers.
    });
    const started = Date.now();
    await expect(queryInstant({ baseUrl, timeoutMs: 200 }, "up", Date.now())).rejects.toSatisfy(
      unavailable((e) => /200 ms/.test(e.message) && e.cause instanceof Error),
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("uses the fetch it is given", async () => {
    const calls: string[] = [];
    const fetch: typeof globalThis.fetch = async (input) => {
      calls.push(String(input));
      throw new TypeError("fetch failed");
    };
    await expect(queryInstant({ baseUrl: "http://prometheus.invalid", fetch }, "up", 0)).rejects.toSatisfy(
      unavailable((e) => e.cause instanceof TypeError),
    );
    expect(calls).toEqual(["http://prometheus.invalid/api/v1/query"]);
  });
});
