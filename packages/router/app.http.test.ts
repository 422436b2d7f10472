import { gzipSync } from "node:zlib";
import { getRequestListener } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { afterEach, describe, expect, it } from "vitest";
import { backend, runFrontEndContract, tableOf } from "../../test/support/front-end-contract.ts";
import { closeTestServers, listen } from "../../test/support/http-servers.ts";
import { createRouter } from "./app.ts";
import { staticTableSource } from "./table-source.ts";

// The web front end served on node:http by @hono/node-server, against real node:http backends
// reached through the platform's fetch, as on an edge runtime: the front-end contract, and what
// only this front end does (fetch decodes what it receives).

afterEach(closeTestServers);

const serve = async (options: Parameters<typeof createRouter>[0]): Promise<string> =>
  (await listen(getRequestListener(createRouter({ getConnInfo, ...options }).fetch))).url;

runFrontEndContract("createRouter", serve);

describe("createRouter on fetch", () => {
  it("relays a gzip-encoded answer decoded, without the encoding headers", async () => {
    const text = "hello ".repeat(1000);
    const { url } = await listen((_req, res) => {
      const gz = gzipSync(text);
      res.writeHead(200, {
        "content-type": "text/plain",
        "content-encoding": "gzip",
        "content-length": gz.length,
      });
      res.end(gz);
    });
    const router = await serve({ table: staticTableSource([tableOf(backend(1, 100, url))]) });
    const response = await fetch(`${router}/w/shop/`, { headers: { "accept-encoding": "gzip" } });
    expect(response.headers.get("content-encoding")).toBeNull();
    expect(response.headers.get("content-length")).toBeNull();
    expect(await response.text()).toBe(text);
  });
});
