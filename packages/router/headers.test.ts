import { describe, expect, it } from "vitest";
import {
  adaptResponseHeadersInPlace,
  downstreamResponseHeaders,
  forwardRawRequestHeaders,
  rawResponseHeaders,
  upstreamRequestHeaders,
} from "./headers.ts";

const HOP_BY_HOP = {
  connection: "keep-alive",
  "keep-alive": "timeout=5",
  "proxy-connection": "keep-alive",
  "proxy-authenticate": "Basic",
  "proxy-authorization": "Basic eDp5",
  te: "trailers",
  trailer: "x-checksum",
  "transfer-encoding": "chunked",
  upgrade: "websocket",
};

const entries = (headers: Headers): Record<string, string> => Object.fromEntries(headers.entries());

describe("upstreamRequestHeaders", () => {
  const from = { clientAddress: "203.0.113.7", host: "shop.example.com:8080", proto: "https" };

  it("keeps end-to-end headers and drops hop-by-hop ones, host and accept-encoding", () => {
    const incoming = new Headers({
      ...HOP_BY_HOP,
      host: "shop.example.com:8080",
      "accept-encoding": "gzip, br",
      accept: "application/json",
      authorization: "Bearer t",
      cookie: "a=1; b=2",
      "content-type": "text/plain",
      "content-length": "5",
      "x-request-id": "r-1",
    });
    expect(entries(upstreamRequestHeaders(incoming, from))).toEqual({
      accept: "application/json",
      authorization: "Bearer t",
      cookie: "a=1; b=2",
      "content-type": "text/plain",
      "content-length": "5",
      "x-request-id": "r-1",
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-host": "shop.example.com:8080",
      "x-forwarded-proto": "https",
    });
  });

  it("drops the headers that the connection header names, and ignores names that are not tokens", () => {
    const incoming = new Headers({
      connection: "close, X-Secret ,x-other, bad name, ,",
      "x-secret": "1",
      "x-other": "2",
      "x-kept": "3",
    });
    expect(entries(upstreamRequestHeaders(incoming, from))).toEqual({
      "x-kept": "3",
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-host": "shop.example.com:8080",
      "x-forwarded-proto": "https",
    });
  });

  it("does not let the connection header strip the forwarding headers it sets", () => {
    const incoming = new Headers({
      connection: "x-forwarded-host, x-forwarded-proto",
      "x-forwarded-host": "spoofed",
    });
    const headers = upstreamRequestHeaders(incoming, from);
    expect(headers.get("x-forwarded-host")).toBe("shop.example.com:8080");
    expect(headers.get("x-forwarded-proto")).toBe("https");
  });

  it("appends the client to an existing x-forwarded-for", () => {
    const incoming = new Headers({ "x-forwarded-for": "198.51.100.1, 198.51.100.2" });
    expect(upstreamRequestHeaders(incoming, from).get("x-forwarded-for")).toBe(
      "198.51.100.1, 198.51.100.2, 203.0.113.7",
    );
  });

  it("passes x-forwarded-for on untouched when the client address is unknown", () => {
    const incoming = new Headers({ "x-forwarded-for": "198.51.100.1" });
    const headers = upstreamRequestHeaders(incoming, { host: "shop.example.com", proto: "http" });
    expect(headers.get("x-forwarded-for")).toBe("198.51.100.1");
    expect(upstreamRequestHeaders(new Headers(), { host: null, proto: "http" }).has("x-forwarded-for")).toBe(
      false,
    );
  });

  it("always sets x-forwarded-proto, and x-forwarded-host when the host is known", () => {
    const incoming = new Headers({ "x-forwarded-host": "evil.example", "x-forwarded-proto": "gopher" });
    const headers = upstreamRequestHeaders(incoming, { host: null, proto: "http" });
    expect(headers.get("x-forwarded-host")).toBe("evil.example");
    expect(headers.get("x-forwarded-proto")).toBe("http");
    expect(upstreamRequestHeaders(incoming, from).get("x-forwarded-host")).toBe("shop.example.com:8080");
  });

  it("leaves the incoming headers alone", () => {
    const incoming = new Headers({ connection: "close", host: "a.b" });
    upstreamRequestHeaders(incoming, from);
    expect(entries(incoming)).toEqual({ connection: "close", host: "a.b" });
  });
});

describe("downstreamResponseHeaders", () => {
  it("keeps end-to-end headers, every set-cookie included, and drops hop-by-hop ones", () => {
    const upstream = new Headers({
      ...HOP_BY_HOP,
      "content-type": "text/html",
      "content-length": "12",
      etag: '"x"',
    });
    upstream.append("set-cookie", "a=1");
    upstream.append("set-cookie", "b=2");
    const headers = downstreamResponseHeaders(upstream);
    expect(entries(headers)).toEqual({
      "content-type": "text/html",
      "content-length": "12",
      etag: '"x"',
      "set-cookie": "b=2",
    });
    expect(headers.getSetCookie()).toEqual(["a=1", "b=2"]);
  });

  it("drops content-encoding and content-length, which describe the body before fetch decoded it", () => {
    const upstream = new Headers({
      "content-encoding": "gzip",
      "content-length": "31",
      "content-type": "text/plain",
    });
    expect(entries(downstreamResponseHeaders(upstream))).toEqual({ "content-type": "text/plain" });
  });

  it("drops the headers that the connection header names", () => {
    const upstream = new Headers({ connection: "x-internal", "x-internal": "1", "x-public": "2" });
    expect(entries(downstreamResponseHeaders(upstream))).toEqual({ "x-public": "2" });
  });
});

describe("adaptResponseHeadersInPlace", () => {
  const backendResponse = (): Headers => {
    const headers = new Headers({
      ...HOP_BY_HOP,
      connection: "keep-alive, X-Internal",
      "x-internal": "1",
      "content-type": "text/html",
      "content-length": "12",
      etag: '"x"',
    });
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    return headers;
  };

  it("leaves the same headers as downstreamResponseHeaders, plus the one it sets", () => {
    const edited = backendResponse();
    expect(adaptResponseHeadersInPlace(edited, "x-devsim-backend", "aws/us-east-1/1")).toBe(true);
    const copied = downstreamResponseHeaders(backendResponse());
    copied.set("x-devsim-backend", "aws/us-east-1/1");
    expect(entries(edited)).toEqual(entries(copied));
    expect(entries(edited)).toEqual({
      "content-type": "text/html",
      "content-length": "12",
      etag: '"x"',
      "set-cookie": "b=2",
      "x-devsim-backend": "aws/us-east-1/1",
    });
    expect(edited.getSetCookie()).toEqual(["a=1", "b=2"]);
  });

  it("drops content-encoding and content-length, which describe the body before fetch decoded it", () => {
    const headers = new Headers({
      "content-encoding": "gzip",
      "content-length": "31",
      "content-type": "text/plain",
    });
    expect(adaptResponseHeadersInPlace(headers, "x-devsim-backend", "b")).toBe(true);
    expect(entries(headers)).toEqual({ "content-type": "text/plain", "x-devsim-backend": "b" });
  });

  it("keeps the header it sets even when the connection header names it", () => {
    const headers = new Headers({ connection: "x-devsim-backend", "x-devsim-backend": "forged" });
    expect(adaptResponseHeadersInPlace(headers, "x-devsim-backend", "real")).toBe(true);
    expect(entries(headers)).toEqual({ "x-devsim-backend": "real" });
  });

  it("changes nothing and says so when the headers are immutable, as fetch's are", () => {
    const { headers } = Response.redirect("http://shop.test/next", 307);
    const before = entries(headers);
    expect(adaptResponseHeadersInPlace(headers, "x-devsim-backend", "b")).toBe(false);
    expect(entries(headers)).toEqual(before);
  });
});

describe("forwardRawRequestHeaders", () => {
  const from = { clientAddress: "10.0.0.9", host: "shop.example.com", proto: "https" };

  it("keeps end-to-end headers with their case and order, and accept-encoding too", () => {
    const out = forwardRawRequestHeaders(
      ["Host", "router", "Accept", "*/*", "Accept-Encoding", "gzip", "Set-Cookie", "a", "Set-Cookie", "b"],
      from,
    );
    expect(out).toEqual([
      "Accept",
      "*/*",
      "Accept-Encoding",
      "gzip",
      "Set-Cookie",
      "a",
      "Set-Cookie",
      "b",
      "x-forwarded-for",
      "10.0.0.9",
      "x-forwarded-host",
      "shop.example.com",
      "x-forwarded-proto",
      "https",
    ]);
  });

  it("drops hop-by-hop headers and those the connection header names, in any case", () => {
    const out = forwardRawRequestHeaders(
      [
        "Connection",
        "keep-alive, X-Trace",
        "Keep-Alive",
        "5",
        "X-TRACE",
        "1",
        "TE",
        "trailers",
        "X-Kept",
        "y",
      ],
      { host: null, proto: "http" },
    );
    expect(out).toEqual(["X-Kept", "y", "x-forwarded-proto", "http"]);
  });

  it("appends the client to every x-forwarded-for it sent, and replaces the client's host and proto", () => {
    const out = forwardRawRequestHeaders(
      [
        "X-Forwarded-For",
        "1.1.1.1",
        "x-forwarded-for",
        "2.2.2.2",
        "X-Forwarded-Host",
        "spoofed",
        "X-Forwarded-Proto",
        "ftp",
      ],
      from,
    );
    expect(out).toEqual([
      "x-forwarded-for",
      "1.1.1.1, 2.2.2.2, 10.0.0.9",
      "x-forwarded-host",
      "shop.example.com",
      "x-forwarded-proto",
      "https",
    ]);
  });

  it("passes the client's x-forwarded-for on untouched when its own address is unknown", () => {
    expect(forwardRawRequestHeaders(["X-Forwarded-For", "1.1.1.1"], { host: null, proto: "http" })).toEqual([
      "X-Forwarded-For",
      "1.1.1.1",
      "x-forwarded-proto",
      "http",
    ]);
  });
});

describe("rawResponseHeaders", () => {
  it("flattens repeated headers, keeps codings and drops hop-by-hop and connection-named ones", () => {
    const out = rawResponseHeaders(
      {
        "content-type": "text/plain",
        "content-encoding": "gzip",
        "content-length": "12",
        "set-cookie": ["a=1", "b=2"],
        connection: "keep-alive, x-internal",
        "keep-alive": "timeout=5",
        "transfer-encoding": "chunked",
        "x-internal": "secret",
        "x-devsim-backend": "forged",
      },
      "x-devsim-backend",
      "aws/us-east-1/3",
    );
    expect(out).toEqual([
      "content-type",
      "text/plain",
      "content-encoding",
      "gzip",
      "content-length",
      "12",
      "set-cookie",
      "a=1",
      "set-cookie",
      "b=2",
      "x-devsim-backend",
      "aws/us-east-1/3",
    ]);
  });
});
