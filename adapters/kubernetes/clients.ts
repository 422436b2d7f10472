import {
  AppsV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  Observable,
  type ObservableMiddleware,
  PatchStrategy,
  type RequestContext,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { AdapterError } from "#core";
import { type ClusterAccess, type ClusterResolver, kubeConfigFor } from "./cluster-access.ts";

/** The typed API clients for one cluster and the per-call options every call passes. */
export interface ClusterClients {
  readonly cluster: string;
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
  /** Options for every call: a time limit on each request, body included. */
  readonly call: ConfigurationOptions;
  /** Options for server-side apply: the time limit and `Content-Type: application/apply-patch+yaml`. */
  readonly apply: ConfigurationOptions;
}

/** Aborts a request, body included, that has not finished within `ms`; a new limit per request. */
const timeLimit = (ms: number): ObservableMiddleware => ({
  pre: (context) => {
    context.setSignal(AbortSignal.timeout(ms));
    return new Observable(Promise.resolve(context));
  },
  post: (context) => new Observable(Promise.resolve(context)),
});

/**
 * The client builds a new connection pool for every request of a cluster with TLS settings (its
 * `applySecurityAuthentication`), so every call would open a connection and a TLS session of its
 * own. This keeps the first pool and sends every later request through it; the pools built
 * meanwhile never connect. The pool's settings (CA, client certificate) are the cluster's, the
 * same for every request; bearer tokens travel in headers, not in the pool.
 */
const onePool = (): ObservableMiddleware => {
  let pool: ReturnType<RequestContext["getDispatcher"]>;
  return {
    pre: (context) => {
      const fresh = context.getDispatcher();
      if (fresh) {
        pool ??= fresh;
        context.setDispatcher(pool);
      }
      return new Observable(Promise.resolve(context));
    },
    post: (context) => new Observable(Promise.resolve(context)),
  };
};

export const createClusterClients = (
  access: ClusterAccess,
  options: { readonly cloud: string; readonly timeoutMs: number },
): ClusterClients => {
  const config = kubeConfigFor(access, options.cloud);
  // Appended, so the client's own middleware (its User-Agent) stays.
  const call: ConfigurationOptions = {
    middleware: [onePool(), timeLimit(options.timeoutMs)],
    middlewareMergeStrategy: "append",
  };
  return {
    cluster: access.name,
    apps: config.makeApiClient(AppsV1Api),
    core: config.makeApiClient(CoreV1Api),
    call,
    apply: setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply, call),
  };
};

/** The clients of the cluster serving each region, resolved once and kept until told to forget. */
export interface ClusterDirectory {
  clientsFor(region: string): Promise<ClusterClients>;
  /** Drops what is known of a region's cluster, e.g. after its credentials were refused. */
  forget(region: string): void;
}

export const createClusterDirectory = (
  resolve: ClusterResolver,
  options: { readonly cloud: string; readonly timeoutMs: number },
): ClusterDirectory => {
  const byRegion = new Map<string, Promise<ClusterClients>>();

  const load = async (region: string): Promise<ClusterClients> => {
    let access: ClusterAccess;
    try {
      access = await resolve(region);
    } catch (error) {
      if (error instanceof AdapterError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new AdapterError(
        "unavailable",
        options.cloud,
        `region ${region}: could not find its cluster: ${reason}`,
        {
          cause: error,
        },
      );
    }
    return createClusterClients(access, options);
  };

  return {
    clientsFor(region) {
      const known = byRegion.get(region);
      if (known) return known;
      const loading = load(region);
      byRegion.set(region, loading);
      // A failed resolution is not kept: the next call asks again.
      loading.catch(() => {
        if (byRegion.get(region) === loading) byRegion.delete(region);
      });
      return loading;
    },
    forget(region) {
      byRegion.delete(region);
    },
  };
};
