import type { RoutingTable } from "#core";
import { kvRoutingTables, upstashStore } from "#kv";
import { cachedTableSource, createRouter, type RoutingTableSource } from "#router";

// The deployed router's view of the routing tables: the production @upstash/redis client, over
// an Upstash REST endpoint (in tests, the bridge in front of a real Redis).

/** A one-backend routing table for `workload` at `version`, every request to `url`. */
export const tableTo = (workload: string, version: number, url: string): RoutingTable => ({
  workload,
  version,
  backends: [{ cloud: "aws", region: "us-east-1", revision: version, weight: 100, url }],
});

/** The router's source, counting the refreshes that failed so a test can tell the store was really gone. */
const countingFailures = (source: RoutingTableSource) => {
  const counts = { failures: 0 };
  const counted: RoutingTableSource = {
    get: async (workload) => {
      try {
        return await source.get(workload);
      } catch (error) {
        counts.failures++;
        throw error;
      }
    },
  };
  return { counted, counts };
};

export interface UpstashRouterOptions {
  /** The Upstash REST endpoint and its token. */
  readonly url: string;
  readonly token: string;
  /** Key prefix of the tables. */
  readonly prefix: string;
  /** How long the router trusts a table before it reads it again. */
  readonly maxAgeMs: number;
}

/** A router reading its tables through Upstash; `get` sends one request to a workload through it. */
export const routerOverUpstash = ({ url, token, prefix, maxAgeMs }: UpstashRouterOptions) => {
  const tables = kvRoutingTables(upstashStore({ url, token, prefix }));
  const { counted, counts } = countingFailures(tables);
  const router = createRouter({ table: cachedTableSource(counted, { maxAgeMs }) });
  const get = async (workload: string) => {
    const started = performance.now();
    const res = await router.request(`http://router.test/w/${workload}/`);
    return { status: res.status, text: await res.text(), ms: performance.now() - started };
  };
  return { tables, counts, get };
};
