import { EventSourceParserStream } from "eventsource-parser/stream";

/** One server-sent event as a client sees it; `event` is "message" when the server named none. */
export interface Sse {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: string;
}

/** The server-sent events of a response body, as a client library parses them. */
export async function* sseMessages(
  response: Response,
  { onRetry }: { readonly onRetry?: (ms: number) => void } = {},
): AsyncGenerator<Sse> {
  if (response.body === null) throw new Error("no body");
  const parsed = response.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream(onRetry ? { onRetry } : {}));
  for await (const m of parsed) yield { event: m.event ?? "message", id: m.id, data: m.data };
}
