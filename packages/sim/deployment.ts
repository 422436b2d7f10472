import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Cloud, SimProfile } from "#core";
import { type DeploymentFaults, NO_FAULTS, survivingReplicas } from "./faults.ts";
import type { SimDeploySpec } from "./schemas.ts";
import { createSlots, NoCapacityError } from "./slots.ts";

/** Names one deployment: one revision of one workload in one region of one cloud. */
export interface SimDeploymentKey {
  readonly cloud: Cloud;
  readonly region: string;
  readonly workload: string;
  readonly revision: number;
}

export interface SimDeploymentStatus {
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  readonly url: string | null;
}

/** Everything the world knows about a deployment, for listings and for tests that read it directly. */
export interface SimDeploymentInfo extends SimDeploymentKey, SimDeploymentStatus {
  readonly image: string;
  readonly port: number;
  readonly healthPath: string;
  readonly sim: SimProfile | null;
  /** Requests being served right now. */
  readonly inFlight: number;
  /** Requests waiting for a free replica. */
  readonly queued: number;
}

export interface SimDeploymentSettings {
  readonly startupMs: number;
  readonly perReplicaConcurrency: number;
  readonly random: () => number;
}

/** One running deployment: a loopback HTTP server whose replicas bound how much it serves at once. */
export interface SimDeployment {
  /** Starts listening; resolves once the URL is known. */
  start(): Promise<void>;
  status(): SimDeploymentStatus;
  info(): SimDeploymentInfo;
  scale(replicas: number): void;
  /**
   * Applies the faults in force. An outage closes the server and drops its connections; when it ends
   * the server listens again on the same port, so its URL stays valid. Resolves once the server
   * listens, or not, as the faults require.
   */
  setFaults(faults: DeploymentFaults): Promise<void>;
  /** Closes the server and drops open connections, including requests still waiting. */
  stop(): Promise<void>;
}

const DEFAULT_PROFILE: SimProfile = { errorRate: 0, latencyMs: 0, ready: true };
/** Latency varies by ±10% so traffic looks like traffic, yet stays predictable under a fixed `random`. */
const JITTER = 0.2;
const HOST = "127.0.0.1";
/** Pause between attempts to listen again after an outage, should another process hold the port. */
const RELISTEN_MS = 100;

interface Replica {
  ready: boolean;
  timer: NodeJS.Timeout | undefined;
}

const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
};

export const createSimDeployment = (
  key: SimDeploymentKey,
  spec: SimDeploySpec,
  settings: SimDeploymentSettings,
): SimDeployment => {
  const profile = spec.sim ?? DEFAULT_PROFILE;
  const replicas: Replica[] = [];
  const slots = createSlots(0);
  const stopping = new AbortController();
  let url: string | null = null;
  let port = 0;
  let started = false;
  let desired = 0;
  let faults = NO_FAULTS;
  let stopped: Promise<void> | undefined;

  /** Replicas that serve: none while the region is out, fewer while capacity is lost. */
  const readyCount = (): number =>
    faults.outage ? 0 : survivingReplicas(replicas.filter((r) => r.ready).length, faults.capacityLost);
  const updateCapacity = (): void => slots.setCapacity(readyCount() * settings.perReplicaConcurrency);

  const addReplica = (): void => {
    const replica: Replica = { ready: false, timer: undefined };
    // A revision whose profile says it never gets ready keeps every replica starting forever.
    if (profile.ready) {
      if (settings.startupMs === 0) replica.ready = true;
      else {
        replica.timer = setTimeout(() => {
          replica.timer = undefined;
          replica.ready = true;
          updateCapacity();
        }, settings.startupMs);
      }
    }
    replicas.push(replica);
  };

  const removeReplica = (): void => {
    // Like an orchestrator, retire replicas that are still starting before ones that serve.
    const starting = replicas.findLastIndex((r) => !r.ready);
    const [removed] = replicas.splice(starting >= 0 ? starting : replicas.length - 1, 1);
    if (removed?.timer) clearTimeout(removed.timer);
  };

  const scale = (count: number): void => {
    desired = count;
    while (replicas.length < count) addReplica();
    while (replicas.length > count) removeReplica();
    updateCapacity();
  };

  const serviceDelay = (): number =>
    profile.latencyMs > 0 ? profile.latencyMs * (1 - JITTER / 2 + JITTER * settings.random()) : 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    req.resume();
    const path = new URL(req.url ?? "/", "http://sim.invalid").pathname;
    const isHealth = path === spec.healthPath;
    const unavailable = (): void =>
      sendJson(
        res,
        503,
        isHealth ? { status: "starting" } : { error: { code: "unavailable", message: "no ready replicas" } },
      );
    const failed = (): void =>
      sendJson(res, 500, { error: { code: "internal", message: "simulated failure" } });

    // Drop the request's work when its client goes away or the deployment is removed.
    const gone = new AbortController();
    res.on("close", () => gone.abort());
    const signal = AbortSignal.any([gone.signal, stopping.signal]);

    let release: (() => void) | undefined;
    try {
      // Injected latency sits in front of the replicas, like a slow network: it holds no slot.
      if (faults.latencyMs > 0) await sleep(faults.latencyMs, undefined, { signal });
      if (readyCount() === 0) return unavailable();
      release = await slots.acquire(signal);
      const delay = serviceDelay();
      if (delay > 0) await sleep(delay, undefined, { signal });
      // Injected errors strike health checks too; the revision's own errors spare them.
      if (faults.errorRate > 0 && settings.random() < faults.errorRate) return failed();
      if (isHealth) return sendJson(res, 200, { status: "ok" });
      if (settings.random() < profile.errorRate) return failed();
      sendJson(res, 200, {
        workload: key.workload,
        cloud: key.cloud,
        region: key.region,
        revision: key.revision,
        image: spec.image,
        method: req.method,
        path,
      });
    } catch (error) {
      if (error instanceof NoCapacityError) return unavailable();
      // Otherwise the client or the deployment went away: there is no one left to answer.
      res.destroy();
    } finally {
      release?.();
    }
  };

  scale(spec.replicas);
  const server = createServer((req, res) => void handle(req, res));

  const listenOn = (at: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(at, HOST, () => {
        server.off("error", reject);
        resolve();
      });
    });

  const closeListener = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      // Clients see resets for open connections and refusals for new ones, as from a dead host.
      server.closeAllConnections();
    });

  const shouldListen = (): boolean => started && !faults.outage && !stopping.signal.aborted;

  const relisten = async (): Promise<void> => {
    while (shouldListen() && !server.listening) {
      try {
        await listenOn(port);
      } catch {
        await sleep(RELISTEN_MS, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  };

  // Listening and closing run one at a time, in the order asked, so an outage that starts and ends
  // quickly cannot leave the server in the wrong state.
  let transitions: Promise<void> = Promise.resolve();
  const serially = (task: () => Promise<void>): Promise<void> => {
    const next = transitions.then(task);
    transitions = next.catch(() => undefined);
    return next;
  };
  const syncListener = (): Promise<void> =>
    serially(async () => {
      if (!started) return;
      if (shouldListen()) await relisten();
      else await closeListener();
    });

  return {
    start: () =>
      serially(async () => {
        // Even a deployment whose region is out gets its port now: the URL must exist and stay put.
        await listenOn(0);
        port = (server.address() as AddressInfo).port;
        url = `http://${HOST}:${port}`;
        started = true;
        if (!shouldListen()) await closeListener();
      }),
    status: () => ({ desiredReplicas: desired, readyReplicas: readyCount(), url }),
    info: () => ({
      ...key,
      desiredReplicas: desired,
      readyReplicas: readyCount(),
      url,
      image: spec.image,
      port: spec.port,
      healthPath: spec.healthPath,
      sim: spec.sim,
      inFlight: slots.inUse,
      queued: slots.queued,
    }),
    scale,
    setFaults: (next) => {
      faults = next;
      updateCapacity();
      return syncListener();
    },
    stop: () => {
      if (!stopped) {
        stopping.abort();
        scale(0);
        stopped = serially(closeListener);
      }
      return stopped;
    },
  };
};
