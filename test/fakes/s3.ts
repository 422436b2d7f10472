import { createHash, randomBytes } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { crc32 } from "node:zlib";
import { closeServer, listen } from "../support/http-servers.ts";

// A small S3 on loopback that answers the calls the backup sink makes, on the wire as S3 does:
// path-style URLs, SigV4-signed requests, XML answers and errors. References:
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html (aws-chunked bodies)
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
// Signatures are checked for shape, not recomputed: the SDK under test computes them.

export type S3Operation =
  | "PutObject"
  | "GetObject"
  | "ListObjectsV2"
  | "DeleteObject"
  | "DeleteObjects"
  | "Unsupported";

export interface RecordedRequest {
  readonly operation: S3Operation;
  readonly method: string;
  /** The path as sent, still percent-encoded. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** Bytes of the body on the wire, before any aws-chunked decoding. */
  readonly wireBytes: number;
  /** The payload after decoding (what S3 stores for a PutObject). */
  readonly payloadBytes: number;
  /** The answer's status. */
  status: number;
}

interface StoredObject {
  readonly body: Buffer;
  readonly etag: string;
  readonly lastModified: Date;
  /** Base64 CRC32 the client sent with the object, echoed back on reads as S3 does. */
  readonly crc32?: string;
}

export interface FakeS3 {
  /** Endpoint for the SDK (`endpoint`, with `forcePathStyle: true`). */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** The objects of a bucket, by key: tests read and tamper with them directly. */
  bucket(name: string): Map<string, StoredObject>;
  /** Replaces an object's bytes, as a damaged disk or a hostile writer would. */
  overwrite(bucket: string, key: string, body: Buffer): void;
  close(): Promise<void>;
}

export interface FakeS3Options {
  /** Buckets that exist; requests to any other answer NoSuchBucket. */
  readonly buckets: readonly string[];
  /** Most keys ListObjectsV2 answers per page (S3's is 1000), so tests can force continuation. */
  readonly pageSize?: number;
}

class S3Failure extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const xmlEscape = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`);

const xmlUnescape = (s: string): string =>
  s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(Number(e.slice(1)));
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[e] ?? "";
  });

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";

const base64Crc32 = (body: Buffer): string => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(body));
  return out.toString("base64");
};

/** A request header's value; S3 ignores all but the first of a repeated header. */
const header = (headers: IncomingHttpHeaders, name: string): string => {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? "";
};

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=[^/\s]+\/(\d{8})\/[a-z0-9-]+\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=[0-9a-f]{64}$/;

/** Rejects a request that is not SigV4-signed the way S3 requires. */
const checkSignature = (headers: IncomingHttpHeaders): void => {
  const auth = AUTHORIZATION.exec(header(headers, "authorization"));
  if (!auth) throw new S3Failure(403, "AccessDenied", "missing or malformed SigV4 Authorization header");
  const date = header(headers, "x-amz-date");
  if (!/^\d{8}T\d{6}Z$/.test(date) || !date.startsWith(auth[1] ?? "-")) {
    throw new S3Failure(403, "AccessDenied", "x-amz-date is missing or disagrees with the credential scope");
  }
  const signed = (auth[2] ?? "").split(";");
  for (const required of ["host", "x-amz-date", "x-amz-content-sha256"]) {
    if (!signed.includes(required)) {
      throw new S3Failure(403, "AccessDenied", `SignedHeaders lacks ${required}`);
    }
  }
  if (!header(headers, "x-amz-content-sha256")) {
    throw new S3Failure(
      400,
      "InvalidRequest",
      "Missing required header for this request: x-amz-content-sha256",
    );
  }
};

/**
 * Decodes an aws-chunked body: `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` frames, a frame of
 * size 0, then trailing headers (`name:value\r\n`) and an empty line.
 */
const decodeAwsChunked = (wire: Buffer): { payload: Buffer; trailers: Map<string, string> } => {
  const parts: Buffer[] = [];
  let at = 0;
  const line = (): string => {
    const end = wire.indexOf("\r\n", at);
    if (end === -1) throw new S3Failure(400, "IncompleteBody", "aws-chunked body ends inside a frame header");
    const text = wire.subarray(at, end).toString("latin1");
    at = end + 2;
    return text;
  };
  for (;;) {
    const header = line();
    const size = Number.parseInt(header.split(";")[0] ?? "", 16);
    if (!Number.isInteger(size) || size < 0)
      throw new S3Failure(400, "InvalidRequest", `bad chunk header '${header}'`);
    if (size === 0) break;
    if (at + size + 2 > wire.length)
      throw new S3Failure(400, "IncompleteBody", "aws-chunked body is cut short");
    parts.push(wire.subarray(at, at + size));
    at += size;
    if (wire.subarray(at, at + 2).toString("latin1") !== "\r\n") {
      throw new S3Failure(400, "InvalidRequest", "chunk data is not followed by CRLF");
    }
    at += 2;
  }
  const trailers = new Map<string, string>();
  while (at < wire.length) {
    const text = line();
    if (text === "") break;
    const colon = text.indexOf(":");
    trailers.set(text.slice(0, colon).trim().toLowerCase(), text.slice(colon + 1).trim());
  }
  return { payload: Buffer.concat(parts), trailers };
};

/** The payload of a request, with every integrity check S3 makes on it. */
const readPayload = (
  headers: IncomingHttpHeaders,
  wire: Buffer,
): { payload: Buffer; crc32?: string | undefined } => {
  const declared = header(headers, "x-amz-content-sha256");
  let payload = wire;
  let trailers = new Map<string, string>();
  if (declared.startsWith("STREAMING-")) {
    if (!header(headers, "content-encoding").includes("aws-chunked")) {
      throw new S3Failure(
        400,
        "InvalidRequest",
        "a streaming payload must be sent with Content-Encoding aws-chunked",
      );
    }
    ({ payload, trailers } = decodeAwsChunked(wire));
    const decodedLength = Number(header(headers, "x-amz-decoded-content-length"));
    if (decodedLength !== payload.length) {
      throw new S3Failure(
        400,
        "IncompleteBody",
        `x-amz-decoded-content-length ${decodedLength} ≠ ${payload.length}`,
      );
    }
    const announced = header(headers, "x-amz-trailer").toLowerCase();
    if (announced && !trailers.has(announced)) {
      throw new S3Failure(400, "MalformedTrailerError", `trailer ${announced} was announced but not sent`);
    }
  } else if (/^[0-9a-f]{64}$/.test(declared)) {
    if (createHash("sha256").update(wire).digest("hex") !== declared) {
      throw new S3Failure(
        400,
        "XAmzContentSHA256Mismatch",
        "the payload does not match x-amz-content-sha256",
      );
    }
  } else if (declared !== "UNSIGNED-PAYLOAD") {
    throw new S3Failure(400, "InvalidArgument", `x-amz-content-sha256 '${declared}' is not understood`);
  }
  const sent = trailers.get("x-amz-checksum-crc32") ?? (header(headers, "x-amz-checksum-crc32") || undefined);
  if (sent !== undefined && sent !== base64Crc32(payload)) {
    throw new S3Failure(400, "BadDigest", "the CRC32 checksum sent does not match the payload");
  }
  const md5 = header(headers, "content-md5");
  if (md5 && md5 !== createHash("md5").update(payload).digest("base64")) {
    throw new S3Failure(400, "BadDigest", "the Content-MD5 sent does not match the payload");
  }
  return { payload, crc32: sent };
};

const readWire = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

const operationOf = (method: string, key: string, query: URLSearchParams): S3Operation => {
  if (key === "") {
    if (method === "GET" && query.get("list-type") === "2") return "ListObjectsV2";
    if (method === "POST" && query.has("delete")) return "DeleteObjects";
    return "Unsupported";
  }
  if (method === "PUT" && [...query.keys()].every((k) => k === "x-id")) return "PutObject";
  if (method === "GET" && [...query.keys()].every((k) => k === "x-id")) return "GetObject";
  if (method === "DELETE" && [...query.keys()].every((k) => k === "x-id")) return "DeleteObject";
  return "Unsupported";
};

/** Starts the fake on 127.0.0.1 at a free port. */
export const startFakeS3 = async (options: FakeS3Options): Promise<FakeS3> => {
  const buckets = new Map(options.buckets.map((name) => [name, new Map<string, StoredObject>()]));
  const pageSize = options.pageSize ?? 1000;
  const requests: RecordedRequest[] = [];

  const answer = (
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body?: Buffer | string,
  ) => {
    res.writeHead(status, { "x-amz-request-id": randomBytes(8).toString("hex").toUpperCase(), ...headers });
    res.end(body);
  };
  const xml = (res: ServerResponse, body: string) =>
    answer(res, 200, { "content-type": "application/xml" }, `${XML_HEAD}${body}`);

  const listObjects = (
    res: ServerResponse,
    name: string,
    objects: Map<string, StoredObject>,
    query: URLSearchParams,
  ) => {
    const prefix = query.get("prefix") ?? "";
    const token = query.get("continuation-token");
    const after = token ? Buffer.from(token, "base64url").toString("utf8") : (query.get("start-after") ?? "");
    const maxKeys = Math.min(Number(query.get("max-keys") ?? 1000), pageSize);
    const matching = [...objects.keys()]
      .filter((k) => k.startsWith(prefix) && Buffer.compare(Buffer.from(k), Buffer.from(after)) > 0)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const page = matching.slice(0, maxKeys);
    const truncated = matching.length > page.length;
    const contents = page
      .map((key) => {
        const o = objects.get(key) as StoredObject;
        return (
          `<Contents><Key>${xmlEscape(key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified>` +
          `<ETag>&quot;${o.etag}&quot;</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`
        );
      })
      .join("");
    const last = page.at(-1);
    xml(
      res,
      `<ListBucketResult xmlns="${S3_NS}"><Name>${xmlEscape(name)}</Name><Prefix>${xmlEscape(prefix)}</Prefix>` +
        `<KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
        (token ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : "") +
        (truncated && last
          ? `<NextContinuationToken>${Buffer.from(last).toString("base64url")}</NextContinuationToken>`
          : "") +
        `${contents}</ListBucketResult>`,
    );
  };

  const deleteObjects = (
    res: ServerResponse,
    headers: IncomingHttpHeaders,
    objects: Map<string, StoredObject>,
    body: Buffer,
  ) => {
    // S3 insists on an integrity header for this call.
    if (!headers["content-md5"] && !Object.keys(headers).some((h) => h.startsWith("x-amz-checksum-"))) {
      throw new S3Failure(400, "InvalidRequest", "Missing required header for this request: Content-MD5");
    }
    const text = body.toString("utf8");
    const keys = [...text.matchAll(/<Object>\s*<Key>([^<]*)<\/Key>/g)].map((m) => xmlUnescape(m[1] ?? ""));
    if (keys.length === 0 || keys.length > 1000)
      throw new S3Failure(400, "MalformedXML", "Delete needs 1 to 1000 objects");
    const quiet = /<Quiet>\s*true\s*<\/Quiet>/.test(text);
    for (const key of keys) objects.delete(key);
    const deleted = quiet ? "" : keys.map((k) => `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`).join("");
    xml(res, `<DeleteResult xmlns="${S3_NS}">${deleted}</DeleteResult>`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, record: RecordedRequest, wire: Buffer) => {
    checkSignature(req.headers);
    const url = new URL(req.url ?? "/", "http://fake");
    const [, bucketName = "", ...rest] = url.pathname.split("/");
    const name = decodeURIComponent(bucketName);
    const key = rest.map(decodeURIComponent).join("/");
    const objects = buckets.get(name);
    if (!objects) throw new S3Failure(404, "NoSuchBucket", `The specified bucket does not exist: ${name}`);
    const { payload, crc32: sentCrc } = readPayload(req.headers, wire);
    (record as { payloadBytes: number }).payloadBytes = payload.length;
    switch (record.operation) {
      case "PutObject": {
        const etag = createHash("md5").update(payload).digest("hex");
        objects.set(key, {
          body: payload,
          etag,
          lastModified: new Date(),
          ...(sentCrc ? { crc32: sentCrc } : {}),
        });
        return answer(res, 200, {
          etag: `"${etag}"`,
          ...(sentCrc ? { "x-amz-checksum-crc32": sentCrc } : {}),
        });
      }
      case "GetObject": {
        const o = objects.get(key);
        if (!o) throw new S3Failure(404, "NoSuchKey", "The specified key does not exist.");
        const checksum: Record<string, string> =
          header(req.headers, "x-amz-checksum-mode") === "ENABLED" && o.crc32
            ? { "x-amz-checksum-crc32": o.crc32 }
            : {};
        return answer(
          res,
          200,
          {
            "content-type": "application/octet-stream",
            "content-length": String(o.body.length),
            etag: `"${o.etag}"`,
            "last-modified": o.lastModified.toUTCString(),
            ...checksum,
          },
          o.body,
        );
      }
      case "DeleteObject":
        objects.delete(key);
        return answer(res, 204, {});
      case "ListObjectsV2":
        return listObjects(res, name, objects, url.searchParams);
      case "DeleteObjects":
        return deleteObjects(res, req.headers, objects, payload);
      default:
        throw new S3Failure(
          501,
          "NotImplemented",
          `${req.method} ${url.pathname}${url.search} is not implemented`,
        );
    }
  };

  const server = await listen((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const [, , ...rest] = url.pathname.split("/");
    const record: RecordedRequest = {
      operation: operationOf(req.method ?? "", rest.join("/"), url.searchParams),
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      wireBytes: 0,
      payloadBytes: 0,
      status: 0,
    };
    requests.push(record);
    readWire(req)
      .then((wire) => {
        (record as { wireBytes: number }).wireBytes = wire.length;
        return handle(req, res, record, wire);
      })
      .catch((error: unknown) => {
        const failure =
          error instanceof S3Failure ? error : new S3Failure(500, "InternalError", String(error));
        answer(
          res,
          failure.status,
          { "content-type": "application/xml" },
          req.method === "HEAD"
            ? undefined
            : `${XML_HEAD}<Error><Code>${failure.code}</Code><Message>${xmlEscape(failure.message)}</Message>` +
                `<Resource>${xmlEscape(url.pathname)}</Resource><RequestId>FAKE</RequestId></Error>`,
        );
      })
      .finally(() => {
        record.status = res.statusCode;
      });
  });

  return {
    url: server.url,
    requests,
    bucket: (name) => {
      const objects = buckets.get(name);
      if (!objects) throw new Error(`no bucket ${name}`);
      return objects;
    },
    overwrite: (bucket, key, body) => {
      const objects = buckets.get(bucket);
      const o = objects?.get(key);
      if (!objects || !o) throw new Error(`no object ${bucket}/${key}`);
      const etag = createHash("md5").update(body).digest("hex");
      objects.set(key, {
        body,
        etag,
        lastModified: new Date(),
        ...(o.crc32 ? { crc32: base64Crc32(body) } : {}),
      });
    },
    close: () => closeServer(server.server),
  };
};
