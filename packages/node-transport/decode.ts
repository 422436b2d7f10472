import { Transform, type TransformCallback } from "node:stream";
import {
  constants,
  createBrotliDecompress,
  createGunzip,
  createInflate,
  createInflateRaw,
  createZstdDecompress,
  type Inflate,
  type InflateRaw,
} from "node:zlib";

/** fetch refuses more codings than this: each one is a decompressor to run (a resource-exhaustion guard). */
export const MAX_CONTENT_CODINGS = 5;

/** Statuses whose responses carry no body, so there is nothing to decode (fetch's null-body statuses). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

// Lenient flushing, as fetch (and curl) do: slightly truncated streams still yield what they hold.
const ZLIB_LENIENT = { flush: constants.Z_SYNC_FLUSH, finishFlush: constants.Z_SYNC_FLUSH };

/**
 * `deflate` in the wild is sometimes zlib-wrapped (as the RFC says) and sometimes raw; like fetch,
 * look at the first byte to tell which.
 */
class Inflater extends Transform {
  #inner: Inflate | InflateRaw | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#inner === undefined) {
      const first = chunk[0];
      if (first === undefined) {
        callback();
        return;
      }
      const inner = (first & 0x0f) === 0x08 ? createInflate(ZLIB_LENIENT) : createInflateRaw(ZLIB_LENIENT);
      inner.on("data", (data: Buffer) => this.push(data));
      inner.on("error", (error) => this.destroy(error));
      this.#inner = inner;
    }
    this.#inner.write(chunk, callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#inner === undefined) {
      callback();
      return;
    }
    // Ends once the inner stream has given out all it decoded.
    this.#inner.once("end", () => callback());
    this.#inner.end();
  }
}

const decoderFor = (coding: string): Transform | null => {
  switch (coding) {
    case "gzip":
    case "x-gzip":
      return createGunzip(ZLIB_LENIENT);
    case "deflate":
      return new Inflater();
    case "br":
      return createBrotliDecompress({
        flush: constants.BROTLI_OPERATION_FLUSH,
        finishFlush: constants.BROTLI_OPERATION_FLUSH,
      });
    case "zstd":
      // RFC 9659 §3: decoders may refuse windows above 8 MB.
      return createZstdDecompress({ params: { [constants.ZSTD_d_windowLogMax]: 23 } });
    default:
      return null;
  }
};

/**
 * The decompressors fetch would run on a response, outermost coding first, or an empty list when
 * the body stays as it is: no `content-encoding`, a HEAD request, a bodiless status, or a coding
 * fetch does not know (then nothing is decoded, as in fetch). Throws on more than
 * `MAX_CONTENT_CODINGS` codings.
 */
export const decodersFor = (method: string, status: number, contentEncoding: string | null): Transform[] => {
  if (!contentEncoding || method === "HEAD" || method === "CONNECT" || NULL_BODY.has(status)) return [];
  const codings = contentEncoding.toLowerCase().split(",");
  if (codings.length > MAX_CONTENT_CODINGS) {
    throw new Error(`too many content-encodings in response: ${codings.length}`);
  }
  const decoders: Transform[] = [];
  // Codings are listed in the order they were applied, so they are undone from the last.
  for (let i = codings.length - 1; i >= 0; i--) {
    const decoder = decoderFor((codings[i] ?? "").trim());
    if (decoder === null) {
      for (const made of decoders) made.destroy();
      return [];
    }
    decoders.push(decoder);
  }
  return decoders;
};
