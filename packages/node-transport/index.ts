export { MAX_CONTENT_CODINGS } from "./decode.ts";
export { type PooledUpstream, type PooledUpstreamOptions, pooledUpstream } from "./pooled-upstream.ts";
