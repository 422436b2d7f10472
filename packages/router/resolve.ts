import { WorkloadName } from "#core";

/** Which workload a request is for, and the path (with its query string) to ask the backend for. */
export interface ResolvedWorkload {
  readonly workload: string;
  /** Starts with `/`; the query string of the request, if any, is kept. */
  readonly path: string;
}

const PATH_PREFIX = "/w/";

const isWorkloadName = (name: string): boolean => WorkloadName.safeParse(name).success;

const fromPath = (url: URL): ResolvedWorkload | null => {
  if (!url.pathname.startsWith(PATH_PREFIX)) return null;
  const rest = url.pathname.slice(PATH_PREFIX.length);
  const slash = rest.indexOf("/");
  const workload = slash === -1 ? rest : rest.slice(0, slash);
  if (!isWorkloadName(workload)) return null;
  const upstream = slash === -1 ? "/" : rest.slice(slash);
  return { workload, path: upstream + url.search };
};

const fromHost = (url: URL, host: string | null): ResolvedWorkload | null => {
  // IPv6 literals come bracketed; they name no workload, and their colons would confuse the port split.
  if (host === null || host.startsWith("[")) return null;
  const hostname = host.replace(/:\d*$/, "").toLowerCase();
  const dot = hostname.indexOf(".");
  if (dot <= 0 || dot === hostname.length - 1) return null;
  const workload = hostname.slice(0, dot);
  // `localhost.localdomain` names a machine; no form of IPv4 address passes for a name (it starts with a letter).
  if (workload === "localhost" || !isWorkloadName(workload)) return null;
  return { workload, path: url.pathname + url.search };
};

/**
 * Finds the workload a request is for: by path prefix `/w/<workload>/rest` (upstream path `/rest`)
 * or by `Host: <workload>.<anything>`. The path prefix wins; a `/w/` segment that is not a valid
 * workload name is left alone and the host decides.
 *
 * @example
 * resolveWorkload(new URL("http://x/w/shop/cart?id=1"), null) // { workload: "shop", path: "/cart?id=1" }
 * resolveWorkload(new URL("http://x/cart"), "shop.example.com:8080") // { workload: "shop", path: "/cart" }
 */
export const resolveWorkload = (url: URL, host: string | null): ResolvedWorkload | null =>
  fromPath(url) ?? fromHost(url, host);
