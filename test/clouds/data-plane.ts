import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { z } from "zod";
import type { Cloud } from "#core";
import { closeServer, listenOnLoopback } from "../support/http-servers.ts";
import type { CloudWorld, KubernetesCloud } from "./world.ts";

// What stands in front of the clouds' workloads: per region, the load balancer (ECS) or ingress
// (Kubernetes) the clouds file's URL patterns point at. It serves a revision only while the cloud's
// own state (the fake's, read raw, never through an adapter) has it running with ready replicas,
// so what the router and health checks reach is what the control plane really deployed.

/** How one revision of a workload answers, in every region. */
export interface RevisionBehaviour {
  /** Share of requests (not health checks) answered 500, spread evenly: 0.1 fails every tenth. */
  readonly errorRate: number;
}

/** One region's front door. */
export interface RegionFront {
  readonly cloud: Cloud;
  readonly region: string;
  /** `http://127.0.0.1:<port>`; it keeps its port when cut and restored. */
  readonly url: string;
}

export interface DataPlane {
  readonly fronts: readonly RegionFront[];
  /** The URL of a region's front. */
  urlOf(cloud: Cloud, region: string): string;
  /** Sets how a revision of a workload answers from now on; revisions not set answer without errors. */
  behave(workload: string, revision: number, behaviour: RevisionBehaviour): void;
  /** Takes a region's front down: open connections are dropped and new ones refused. */
  cut(cloud: Cloud, region: string): Promise<void>;
  /** Brings a cut region's front back on its port. */
  restore(cloud: Cloud, region: string): Promise<void>;
  /** Requests answered by a revision, by `<cloud>/<region>/<revision>` (health checks left out). */
  served(workload: string): Readonly<Record<string, number>>;
  close(): Promise<void>;
}

/** Counts a region's cloud reports for a revision: how many replicas run and are ready. */
type ReadyReplicas = (workload: string, revision: number) => number;

const Deployment = z.object({
  metadata: z.object({
    namespace: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
    deletionTimestamp: z.string().optional(),
  }),
  status: z.object({ readyReplicas: z.int().optional() }).optional(),
});
const Service = z.object({
  metadata: z.object({ namespace: z.string(), labels: z.record(z.string(), z.string()).optional() }),
});

/** ECS: the ACTIVE services of the region's cluster tagged with the workload and revision, running tasks. */
const ecsReady =
  (world: CloudWorld, region: string): ReadyReplicas =>
  (workload, revision) =>
    world.ecs
      .services(region)
      .filter(
        (s) =>
          s.status === "ACTIVE" &&
          s.tags.some((t) => t.key === "devsim:workload" && t.value === workload) &&
          s.tags.some((t) => t.key === "devsim:revision" && t.value === String(revision)),
      )
      .reduce((sum, s) => sum + s.runningCount, 0);

/**
 * Kubernetes: ready pods of the revision's Deployment (not being deleted), provided a Service in its
 * namespace carries the revision's labels, as an ingress reaches pods through a Service.
 */
const kubernetesReady =
  (world: CloudWorld, cloud: KubernetesCloud): ReadyReplicas =>
  (workload, revision) => {
    const kube = world.kubes[cloud];
    const labelled = (labels: Record<string, string> | undefined): boolean =>
      labels?.["app.kubernetes.io/name"] === workload && labels["devsim.dev/revision"] === String(revision);
    const services = kube
      .objects("Service")
      .map((s) => Service.parse(s))
      .filter((s) => labelled(s.metadata.labels));
    return kube
      .objects("Deployment")
      .map((d) => Deployment.parse(d))
      .filter(
        (d) =>
          labelled(d.metadata.labels) &&
          d.metadata.deletionTimestamp === undefined &&
          services.some((s) => s.metadata.namespace === d.metadata.namespace),
      )
      .reduce((sum, d) => sum + (d.status?.readyReplicas ?? 0), 0);
  };

const REVISION_PATH = /^\/([^/]+)\/([^/]+)\/r(\d+)(\/.*)?$/;

interface Front extends RegionFront {
  readonly server: Server;
  readonly port: number;
}

/**
 * Starts a front per region on loopback: `regions` lists each cloud's regions. Requests look like
 * `/<region>/<workload>/r<revision>/<path>`; a revision that the region's cloud does not run ready
 * answers 503, as a load balancer without healthy targets does; a path for another region, 404.
 * `healthPath` always answers 200 from a revision that runs; other paths fail by its behaviour.
 *
 * @example
 * const plane = await startDataPlane(world, { aws: ["us-east-1"], gcp: ["europe-west1"] }, "/healthz");
 */
export const startDataPlane = async (
  world: CloudWorld,
  regions: Readonly<Partial<Record<Cloud, readonly string[]>>>,
  healthPath: string,
): Promise<DataPlane> => {
  const behaviours = new Map<string, RevisionBehaviour>();
  /** Requests answered so far, by workload and then `<cloud>/<region>/<revision>`. */
  const served = new Map<string, Map<string, number>>();

  /** What a region's front answers to a path: its status and body. */
  const answerTo = (cloud: Cloud, region: string, ready: ReadyReplicas, path: string): [number, string] => {
    const m = REVISION_PATH.exec(path);
    if (!m?.[1] || !m[2] || !m[3]) return [404, "no such route\n"];
    if (m[1] !== region) return [404, `this is ${region}, not ${m[1]}\n`];
    const workload = m[2];
    const revision = Number(m[3]);
    if (ready(workload, revision) <= 0) return [503, "no healthy targets\n"];
    if ((m[4] ?? "/") === healthPath) return [200, "ok\n"];
    const byBackend = served.get(workload) ?? new Map<string, number>();
    served.set(workload, byBackend);
    const key = `${cloud}/${region}/${revision}`;
    const n = byBackend.get(key) ?? 0;
    byBackend.set(key, n + 1);
    const rate = behaviours.get(`${workload}/${revision}`)?.errorRate ?? 0;
    // The n-th request fails when it carries the running count of failures past a whole number.
    if (Math.floor((n + 1) * rate) > Math.floor(n * rate)) return [500, "failed on purpose\n"];
    return [200, `${workload} revision ${revision} in ${cloud}/${region}\n`];
  };

  const handler =
    (cloud: Cloud, region: string, ready: ReadyReplicas) =>
    (req: IncomingMessage, res: ServerResponse): void => {
      req.resume();
      const path = new URL(req.url ?? "/", "http://front").pathname;
      const [status, body] = answerTo(cloud, region, ready, path);
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(body);
    };

  const fronts: Front[] = [];
  try {
    for (const [cloud, names] of Object.entries(regions) as [Cloud, readonly string[]][]) {
      for (const region of names) {
        const ready = cloud === "aws" ? ecsReady(world, region) : kubernetesReady(world, cloud);
        const server = createServer(handler(cloud, region, ready));
        const port = await listenOnLoopback(server);
        fronts.push({ cloud, region, url: `http://127.0.0.1:${port}`, server, port });
      }
    }
  } catch (error) {
    await Promise.all(fronts.map((f) => closeServer(f.server)));
    throw error;
  }

  const frontOf = (cloud: Cloud, region: string): Front => {
    const found = fronts.find((f) => f.cloud === cloud && f.region === region);
    if (!found) throw new Error(`no front for ${cloud}/${region}`);
    return found;
  };

  return {
    fronts: fronts.map(({ cloud, region, url }) => ({ cloud, region, url })),
    urlOf: (cloud, region) => frontOf(cloud, region).url,
    behave(workload, revision, behaviour) {
      behaviours.set(`${workload}/${revision}`, behaviour);
    },
    cut: (cloud, region) => closeServer(frontOf(cloud, region).server),
    async restore(cloud, region) {
      const front = frontOf(cloud, region);
      if (!front.server.listening) await listenOnLoopback(front.server, front.port);
    },
    served: (workload) => Object.fromEntries(served.get(workload) ?? []),
    close: async () => {
      await Promise.all(fronts.map((f) => closeServer(f.server)));
    },
  };
};
