import { z } from "zod";
import { AdapterError, type Cloud, RetryPolicy, type RetryPolicyInput } from "#core";
import type { CloudAdapter, CloudAdapters, DeploymentTarget } from "../port.ts";
import { createSimControlClient, missingResource, type Reply } from "./client.ts";

export interface SimAdapterOptions {
  readonly cloud: Cloud;
  /** Base URL of the sim control API, e.g. `http://127.0.0.1:4100`. */
  readonly baseUrl: string;
  readonly fetch?: typeof globalThis.fetch;
  /** Limit on each control API call, body included, in ms. Default 5 000. */
  readonly timeoutMs?: number;
  /**
   * How throttled, failing or silent calls are retried; see `RetryPolicy`. Default 5 attempts
   * within 10 s, backoff from 100 ms up to 2 s.
   */
  readonly retry?: RetryPolicyInput;
}

const Options = z.object({
  baseUrl: z.url({ protocol: /^https?$/ }),
  timeoutMs: z.int().min(1).max(600_000),
  retry: RetryPolicy,
});

const StatusBody = z.object({
  desiredReplicas: z.int().min(0),
  readyReplicas: z.int().min(0),
  url: z.url().nullable(),
});

const RegionsBody = z.object({
  regions: z.array(z.object({ region: z.string().min(1), available: z.boolean() })),
});

/** The CloudAdapter for one simulated cloud; it reaches the world only through its HTTP control API. */
export const createSimAdapter = (options: SimAdapterOptions): CloudAdapter => {
  const { cloud, fetch = globalThis.fetch, timeoutMs = 5000 } = options;
  const checked = Options.safeParse({ baseUrl: options.baseUrl, timeoutMs, retry: options.retry ?? {} });
  if (!checked.success) {
    throw new AdapterError("invalid", cloud, `sim ${cloud}: bad options: ${z.prettifyError(checked.error)}`, {
      cause: checked.error,
    });
  }
  const client = createSimControlClient({
    cloud,
    baseUrl: checked.data.baseUrl,
    fetch,
    timeoutMs,
    retry: checked.data.retry,
  });

  const deploymentPath = (op: string, target: DeploymentTarget, revision: number): string => {
    // A target of another cloud would otherwise land, silently, in this cloud's namespace of the world.
    if (target.cloud !== cloud) {
      throw new AdapterError("invalid", cloud, `sim ${cloud}: ${op}: target is in cloud '${target.cloud}'`);
    }
    const e = encodeURIComponent;
    return `/v1/clouds/${e(cloud)}/regions/${e(target.region)}/workloads/${e(target.workload)}/revisions/${e(String(revision))}`;
  };

  /** A 404 about the deployment itself means absent; one about its region or cloud is a real error. */
  const deploymentAbsent = (reply: Reply): boolean =>
    reply.status === 404 && missingResource(reply) === "deployment";

  return {
    cloud,
    capabilities: { directEndpoints: true },

    async deploy(target, revision, replicas) {
      const op = "deploy";
      const reply = await client.request(op, "PUT", deploymentPath(op, target, revision.number), {
        image: revision.image,
        port: revision.port,
        healthPath: revision.healthPath,
        replicas,
        sim: revision.sim,
      });
      if (reply.status !== 200 && reply.status !== 201) throw client.failure(op, reply);
      return client.parse(op, StatusBody, reply);
    },

    async scale(target, revision, replicas) {
      const op = "scale";
      const reply = await client.request(op, "PATCH", deploymentPath(op, target, revision), { replicas });
      if (reply.status !== 200) throw client.failure(op, reply);
      client.parse(op, StatusBody, reply);
    },

    async describe(target, revision) {
      const op = "describe";
      const reply = await client.request(op, "GET", deploymentPath(op, target, revision));
      if (deploymentAbsent(reply)) return null;
      if (reply.status !== 200) throw client.failure(op, reply);
      return client.parse(op, StatusBody, reply);
    },

    async remove(target, revision) {
      const op = "remove";
      const reply = await client.request(op, "DELETE", deploymentPath(op, target, revision));
      if (reply.status === 204 || deploymentAbsent(reply)) return;
      throw client.failure(op, reply);
    },

    async regions() {
      const op = "regions";
      const reply = await client.request(op, "GET", `/v1/clouds/${encodeURIComponent(cloud)}/regions`);
      if (reply.status !== 200) throw client.failure(op, reply);
      return client.parse(op, RegionsBody, reply).regions;
    },
  };
};

/** One sim adapter per cloud, all talking to the same simulated world. */
export const createSimAdapters = (
  baseUrl: string,
  options: Omit<SimAdapterOptions, "cloud" | "baseUrl"> = {},
): CloudAdapters => {
  const make = (cloud: Cloud): CloudAdapter => createSimAdapter({ ...options, cloud, baseUrl });
  return { aws: make("aws"), azure: make("azure"), gcp: make("gcp"), digitalocean: make("digitalocean") };
};
