import type { Cloud, SimProfile } from "#core";

/** Where a deployment lives: one workload in one region of one cloud. */
export interface DeploymentTarget {
  readonly workload: string;
  readonly cloud: Cloud;
  readonly region: string;
}

/** What to run for one revision. */
export interface RevisionSpec {
  readonly number: number;
  readonly image: string;
  /** The port the container listens on. */
  readonly port: number;
  /** Path answered with 200 when the container is healthy. */
  readonly healthPath: string;
  /** Behaviour of a simulated revision; real clouds ignore it. */
  readonly sim: SimProfile | null;
}

export interface DeploymentStatus {
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  /** Base URL that reaches this revision in this target, once the cloud has assigned one. */
  readonly url: string | null;
}

export interface RegionStatus {
  readonly region: string;
  readonly available: boolean;
}

/** What a cloud can or cannot do, declared instead of leaving methods unimplemented. */
export interface AdapterCapabilities {
  /** Whether deployments get a URL reachable from the router without further set-up. */
  readonly directEndpoints: boolean;
}

/**
 * The port every cloud implements. Each revision in each target is its own deployment with its
 * own endpoint; traffic splitting is the router's job, never the cloud's.
 *
 * Every method throws `AdapterError` (from `#core`) and nothing else.
 */
export interface CloudAdapter {
  readonly cloud: Cloud;
  readonly capabilities: AdapterCapabilities;

  /**
   * Starts `revision` in `target` with `replicas` replicas. Idempotent by (target, revision): calling
   * it again for a deployment that exists returns its status and changes nothing else.
   */
  deploy(target: DeploymentTarget, revision: RevisionSpec, replicas: number): Promise<DeploymentStatus>;

  /** Sets the replica count of an existing deployment. Throws `not_found` when there is none. */
  scale(target: DeploymentTarget, revision: number, replicas: number): Promise<void>;

  /** Reads a deployment's status, or null when it does not exist. */
  describe(target: DeploymentTarget, revision: number): Promise<DeploymentStatus | null>;

  /** Deletes a deployment. Idempotent: removing one that does not exist succeeds. */
  remove(target: DeploymentTarget, revision: number): Promise<void>;

  /** The regions this adapter can deploy to and whether each is available now. */
  regions(): Promise<RegionStatus[]>;
}

/** One adapter per cloud. */
export type CloudAdapters = Readonly<Record<Cloud, CloudAdapter>>;
