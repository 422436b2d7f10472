import { z } from "zod";

/**
 * The node pool a region's failovers may grow, and how far: enough nodes for the replicas asked
 * for, `podsPerNode` to a node, never more than `maxNodes`. Pools are only ever grown, never shrunk.
 */
export const NodePoolCapacity = z.strictObject({
  /** The node pool's name (DOKS: its name or id). */
  nodePool: z.string().min(1).max(255),
  /** How many of the workload's pods one node holds. */
  podsPerNode: z.int().min(1).max(1000),
  /** The most nodes a scale may grow the pool to. */
  maxNodes: z.int().min(1).max(1000),
});
export type NodePoolCapacity = z.infer<typeof NodePoolCapacity>;

/** Capacity settings by target region; each key must be a region the configuration serves. */
export const NodePoolCapacities = z.record(z.string(), NodePoolCapacity).default({});
export type NodePoolCapacities = z.infer<typeof NodePoolCapacities>;

/** The nodes `replicas` need under `capacity`: one per `podsPerNode` started, at most `maxNodes`. */
export const nodesFor = (replicas: number, capacity: NodePoolCapacity): number =>
  Math.min(capacity.maxNodes, Math.ceil(Math.max(0, replicas) / capacity.podsPerNode));
