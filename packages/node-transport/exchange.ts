import type { Transform } from "node:stream";
import type { Dispatcher } from "undici";
import { decodersFor } from "./decode.ts";

/** Statuses whose responses have no body; `new Response` refuses one. */
const NULL_BODY = new Set([204, 205, 304]);

/** Most body bytes kept while the headers wait for the end of their tick; beyond, the socket pauses. */
const EARLY_LIMIT = 64 * 1024;

// Counted in bytes, so a backpressured stream holds at most this much before the socket is paused.
const BODY_QUEUE: QueuingStrategy<Uint8Array> = {
  highWaterMark: 64 * 1024,
  size: (chunk) => chunk.byteLength,
};

type RawHeaders = Record<string, string | string[] | undefined>;

/** About the transport's own connection to the backend, which it keeps to itself. */
const CONNECTION_HEADERS = new Set(["connection", "keep-alive", "transfer-encoding"]);

const toHeaders = (raw: RawHeaders): Headers => {
  const headers = new Headers();
  for (const name in raw) {
    if (CONNECTION_HEADERS.has(name)) continue;
    const value = raw[name];
    if (typeof value === "string") headers.append(name, value);
    else if (value !== undefined) for (const one of value) headers.append(name, one);
  }
  return headers;
};

const asError = (reason: unknown): Error => (reason instanceof Error ? reason : new Error(String(reason)));

/** fetch's error for a request that never got an answer; the router retries on any thrown error. */
export const fetchFailed = (cause: unknown): TypeError => new TypeError("fetch failed", { cause });

/**
 * - `waiting`: no answer yet.
 * - `heading`: headers are in and the answer goes out at the end of this tick; body bytes that
 *   arrive meanwhile (a small answer arrives whole in one read) are kept, so a complete body is
 *   handed over as bytes rather than as a stream.
 * - `streaming`: answered with a stream that the rest of the body feeds.
 * - `over`: body complete, failed or cancelled.
 */
type Phase = "waiting" | "heading" | "streaming" | "over";

/**
 * One request and its response: turns undici's dispatch callbacks into fetch's behaviour. The
 * promise settles with a `Response` (or fetch's errors), the body streams with backpressure, and
 * the request's signal is honoured until the body ends.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  readonly #method: string;
  readonly #signal: AbortSignal;
  readonly #requestBody: ReadableStream<Uint8Array> | null;
  readonly #resolve: (response: Response) => void;
  readonly #reject: (error: unknown) => void;
  readonly #over: () => void;
  #phase: Phase = "waiting";
  #controller: Dispatcher.DispatchController | null = null;
  #init: ResponseInit = {};
  #early: Buffer[] = [];
  #earlyBytes = 0;
  #ended = false;
  #body: ReadableStreamDefaultController<Uint8Array> | null = null;
  #decoders: Transform[] = [];
  #finished = false;

  /** `over` is called once, when the exchange no longer needs its connection. */
  constructor(
    request: Request,
    settle: { resolve: (response: Response) => void; reject: (error: unknown) => void },
    over: () => void,
  ) {
    this.#method = request.method;
    this.#signal = request.signal;
    this.#requestBody = request.body;
    this.#resolve = settle.resolve;
    this.#reject = settle.reject;
    this.#over = over;
    this.#signal.addEventListener("abort", this.#onAbort);
  }

  readonly #onAbort = (): void => {
    if (this.#controller !== null) this.#controller.abort(asError(this.#signal.reason));
    else this.#fail(this.#signal.reason);
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#signal.aborted) this.#onAbort();
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: RawHeaders,
    statusText?: string,
  ): void {
    // Informational answers (100, 103) come before the real one, which fetch waits for.
    if (status < 200 || this.#phase !== "waiting") return;
    try {
      const responseHeaders = toHeaders(headers);
      this.#init = { status, statusText: statusText ?? "", headers: responseHeaders };
      this.#decoders = decodersFor(this.#method, status, responseHeaders.get("content-encoding"));
      if (this.#method === "HEAD" || NULL_BODY.has(status)) {
        this.#answer(new Response(null, this.#init), "streaming");
      } else if (this.#decoders.length > 0) {
        this.#stream();
      } else {
        this.#phase = "heading";
        queueMicrotask(this.#headed);
      }
    } catch (error) {
      controller.abort(asError(error));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#phase === "streaming") {
      this.#deliver(chunk);
    } else if (this.#phase === "heading") {
      this.#early.push(chunk);
      this.#earlyBytes += chunk.byteLength;
      // A big answer already buffered by the socket: hold the rest until the stream is read.
      if (this.#earlyBytes >= EARLY_LIMIT) controller.pause();
    }
  }

  onResponseEnd(): void {
    if (this.#phase === "heading") {
      this.#ended = true;
      return;
    }
    const head = this.#decoders[0];
    // A decoded body ends when the last decoder has flushed.
    if (head !== undefined && this.#phase === "streaming") {
      head.end();
      return;
    }
    const body = this.#body;
    if (this.#finish()) body?.close();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    this.#fail(this.#signal.aborted ? this.#signal.reason : error);
  }

  /** The end of the tick in which the headers came: hand over the whole body, or a stream of it. */
  readonly #headed = (): void => {
    if (this.#phase !== "heading") return;
    if (this.#ended) {
      const early = this.#early;
      // Socket reads are never shared memory, whatever Buffer's type says.
      const bytes = (early.length === 1 ? early[0] : Buffer.concat(early)) as Uint8Array<ArrayBuffer>;
      this.#early = [];
      this.#answer(new Response(bytes, this.#init), "over");
      this.#finish();
      return;
    }
    this.#stream();
  };

  #stream(): void {
    const body = new ReadableStream<Uint8Array>(
      {
        start: (stream) => {
          this.#body = stream;
        },
        pull: () => this.#resume(),
        cancel: (reason: unknown) => {
          if (this.#finish()) this.#controller?.abort(asError(reason ?? "response body cancelled"));
        },
      },
      BODY_QUEUE,
    );
    if (this.#decoders.length > 0) this.#wireDecoders();
    this.#answer(new Response(body, this.#init), "streaming");
    const early = this.#early;
    this.#early = [];
    for (const chunk of early) this.#deliver(chunk);
  }

  /** Passes a chunk of the body on, through the decoders if any; pauses the socket while they are full. */
  #deliver(chunk: Buffer): void {
    const body = this.#body;
    if (body === null) return;
    const head = this.#decoders[0];
    if (head === undefined) {
      body.enqueue(chunk);
      if ((body.desiredSize ?? 0) <= 0) this.#controller?.pause();
    } else if (!head.write(chunk)) {
      this.#controller?.pause();
      head.once("drain", () => this.#controller?.resume());
    }
  }

  #answer(response: Response, next: Phase): void {
    this.#phase = next;
    this.#resolve(response);
  }

  #fail(reason: unknown): void {
    const answered = this.#phase === "streaming";
    const body = this.#body;
    if (!this.#finish()) return;
    if (!answered) {
      // The request body may never have been read: free it (a tee branch would keep buffering).
      if (this.#requestBody !== null && !this.#requestBody.locked)
        this.#requestBody.cancel(reason).catch(() => {});
      this.#reject(this.#signal.aborted ? reason : fetchFailed(reason));
      return;
    }
    // As fetch: a body cut short errors with "terminated", or with the abort reason.
    body?.error(this.#signal.aborted ? reason : new TypeError("terminated", { cause: reason }));
  }

  #resume(): void {
    const tail = this.#decoders.at(-1);
    if (tail?.isPaused()) tail.resume();
    this.#controller?.resume();
  }

  /** Marks the exchange over; false when it already was. */
  #finish(): boolean {
    if (this.#finished) return false;
    this.#finished = true;
    this.#phase = "over";
    this.#signal.removeEventListener("abort", this.#onAbort);
    for (const decoder of this.#decoders) decoder.destroy();
    this.#over();
    return true;
  }

  #wireDecoders(): void {
    const decoders = this.#decoders;
    for (let i = 0; i + 1 < decoders.length; i++) decoders[i]?.pipe(decoders[i + 1] as Transform);
    for (const decoder of decoders) {
      decoder.on("error", (error) => {
        // The answer may be complete already, and then undici has nothing left to abort.
        this.#fail(error);
        this.#controller?.abort(error);
      });
    }
    const tail = decoders.at(-1) as Transform;
    tail.on("data", (chunk: Buffer) => {
      const body = this.#body;
      if (body === null || this.#phase !== "streaming") return;
      body.enqueue(chunk);
      if ((body.desiredSize ?? 0) <= 0) tail.pause();
    });
    tail.on("end", () => {
      const body = this.#body;
      if (this.#finish()) body?.close();
    });
  }
}
