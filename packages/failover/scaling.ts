import type { StepTarget } from "#core";
import { targetKey } from "#strategy";
import type { TargetShare } from "./weights.ts";

/** A running backend, with the replicas failover gave it on top of its own, if any. */
export interface ScalableBackend extends StepTarget {
  readonly revision: number;
  /** Its own replica count, as the rollout deployed it. */
  readonly replicas: number;
  readonly weight: number;
  /** What failover scaled it to; null when it runs its own count. */
  readonly scaledReplicas: number | null;
}

export interface ScaleChange extends StepTarget {
  readonly revision: number;
  readonly from: number;
  readonly to: number;
  /** `up` absorbs a failed target's share; `back` returns to the backend's own count. */
  readonly kind: "up" | "back";
}

export interface ScalingInput {
  readonly backends: readonly ScalableBackend[];
  /** Every target's normal and effective share, from `effectiveWeights`. */
  readonly shares: readonly TargetShare[];
  /** Whether every target takes its full share again: then every scale-up is undone. */
  readonly recovered: boolean;
  /** Whether survivors are scaled up at all (`scaleSurvivors`); scale-back happens regardless. */
  readonly scaleUp: boolean;
  /** The most replicas one deployment may have. */
  readonly maxReplicas?: number;
}

/** `Math.ceil` that forgives a ratio like 1.5000000000000002 made by floating point. */
const ceil = (x: number): number => Math.ceil(x - 1e-9);

/**
 * The replica changes that let the survivors absorb what they took: a backend in a target whose
 * effective share is above its normal one runs `ceil(replicas × effective / normal)` replicas
 * (capped). Mid-failover counts only grow, so a recovery step does not shrink a survivor that may
 * need the replicas again; once every target is back at its full share each backend returns to its
 * own count.
 *
 * @example
 * // A target of 2 replicas that went from 25 to 50 of the weight runs 4.
 */
export const planScaling = ({
  backends,
  shares,
  recovered,
  scaleUp,
  maxReplicas = 100,
}: ScalingInput): ScaleChange[] => {
  const ratio = new Map(shares.map((s) => [targetKey(s), s.normal > 0 ? s.effective / s.normal : 1]));
  return backends.flatMap((b): ScaleChange[] => {
    const current = b.scaledReplicas ?? b.replicas;
    const key = { cloud: b.cloud, region: b.region, revision: b.revision };
    if (recovered)
      return b.scaledReplicas === null ? [] : [{ ...key, from: current, to: b.replicas, kind: "back" }];
    const r = ratio.get(targetKey(b)) ?? 1;
    if (!scaleUp || b.weight <= 0 || r <= 1) return [];
    const wanted = Math.min(maxReplicas, Math.max(current, ceil(b.replicas * r)));
    return wanted > current ? [{ ...key, from: current, to: wanted, kind: "up" }] : [];
  });
};
