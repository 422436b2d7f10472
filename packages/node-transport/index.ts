export { type PooledUpstream, type PooledUpstreamOptions, pooledUpstream } from "./pooled-upstream.ts";
