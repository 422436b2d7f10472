import type { Cloud, FailoverPolicy, StepTarget } from "#core";
import { targetKey } from "#strategy";

/** A backend of the rollout's routing table: its weight is the share the rollout gave it. */
export interface RolloutBackend extends StepTarget {
  readonly revision: number;
  readonly weight: number;
  /** Its replicas: a target's capacity is the replicas of its backends that take traffic. */
  readonly replicas: number;
}

/** How much of its normal share a target takes now, in percent; 0 means it failed over. */
export interface TargetTraffic extends StepTarget {
  readonly percent: number;
}

export interface OverlayInput<B extends RolloutBackend> {
  /** The rollout's backends; those without weight are left out of the result. */
  readonly backends: readonly B[];
  /** Targets not at 100 %; any target not listed takes its whole share. */
  readonly traffic: readonly TargetTraffic[];
  readonly policy: Pick<FailoverPolicy, "sameCloudFirst" | "cloudOrder">;
  /** The workload's targets in their order, which breaks ties among clouds `cloudOrder` leaves out. */
  readonly targets: readonly StepTarget[];
}

/** Weight taken from one target and given to another. */
export interface WeightMove {
  readonly from: StepTarget;
  readonly to: StepTarget;
  readonly weight: number;
}

/** A target's share of the workload's weight, as the rollout set it and as it is now. */
export interface TargetShare extends StepTarget {
  readonly normal: number;
  readonly effective: number;
}

export interface Overlay<B extends RolloutBackend> {
  /** The backends with their effective weights; a backend left with none is dropped. */
  readonly backends: readonly B[];
  readonly moves: readonly WeightMove[];
  /** Every target with weight failed over: the rollout's table is kept, as routing nowhere helps nobody. */
  readonly allDown: boolean;
  readonly shares: readonly TargetShare[];
}

/** Keeps published weights short without moving any share by more than a millionth. */
const round = (weight: number): number => Math.round(weight * 1e6) / 1e6;

interface Group<B> {
  readonly target: StepTarget;
  readonly backends: B[];
  normal: number;
  capacity: number;
  percent: number;
  added: number;
}

/** Clouds in order of preference: `cloudOrder`, then the clouds of the targets in their order. */
export const cloudPreference = (cloudOrder: readonly Cloud[], targets: readonly StepTarget[]): Cloud[] => [
  ...new Set([...cloudOrder, ...targets.map((t) => t.cloud)]),
];

/**
 * The weights routers should use: the rollout's weights with each failed or recovering target's
 * missing share moved to targets at their full share. A target's missing share goes to the healthy
 * targets of its own cloud when `sameCloudFirst` and there is one, otherwise to those of the first
 * cloud in the preference order that has one, split between them in proportion to their capacity
 * (replicas). Inside a target every revision keeps its part, so a canary's split survives. A target
 * without weight (a canary wave not there yet) takes nothing. With no healthy target left to take
 * a share, it stays unplaced and routers spread it over whatever still has weight.
 *
 * @example
 * // aws/us-east-1 failed; its 50 go to aws/eu-west-1, the other target of its cloud.
 * effectiveWeights({ backends, traffic: [{ cloud: "aws", region: "us-east-1", percent: 0 }], policy, targets })
 */
export const effectiveWeights = <B extends RolloutBackend>(input: OverlayInput<B>): Overlay<B> => {
  const groups = new Map<string, Group<B>>();
  for (const b of input.backends) {
    if (!(b.weight > 0)) continue;
    const key = targetKey(b);
    let group = groups.get(key);
    if (!group) {
      group = {
        target: { cloud: b.cloud, region: b.region },
        backends: [],
        normal: 0,
        capacity: 0,
        percent: 100,
        added: 0,
      };
      groups.set(key, group);
    }
    group.backends.push(b);
    group.normal += b.weight;
    group.capacity += b.replicas;
  }
  for (const t of input.traffic) {
    const group = groups.get(targetKey(t));
    if (group) group.percent = Math.min(100, Math.max(0, t.percent));
  }
  const all = [...groups.values()];
  const allDown = all.length > 0 && all.every((g) => g.percent === 0);
  const shares = (effective: (g: Group<B>) => number): TargetShare[] =>
    all.map((g) => ({ ...g.target, normal: round(g.normal), effective: round(effective(g)) }));
  if (allDown) {
    return {
      backends: all.flatMap((g) => g.backends),
      moves: [],
      allDown,
      shares: shares((g) => g.normal),
    };
  }

  const preference = cloudPreference(input.policy.cloudOrder, [
    ...input.targets,
    ...all.map((g) => g.target),
  ]);
  const receivers = all.filter((g) => g.percent === 100);
  const moves: WeightMove[] = [];
  for (const failed of all) {
    const missing = (failed.normal * (100 - failed.percent)) / 100;
    if (missing <= 0) continue;
    const own = failed.target.cloud;
    const tiers: Cloud[] = input.policy.sameCloudFirst
      ? [own, ...preference.filter((c) => c !== own)]
      : preference;
    const tier = tiers
      .map((cloud) => receivers.filter((g) => g.target.cloud === cloud))
      .find((r) => r.length > 0);
    if (!tier) continue;
    const capacity = tier.reduce((sum, g) => sum + g.capacity, 0);
    for (const to of tier) {
      const weight = (missing * to.capacity) / capacity;
      to.added += weight;
      moves.push({ from: failed.target, to: to.target, weight: round(weight) });
    }
  }

  const effective = (g: Group<B>): number => (g.normal * g.percent) / 100 + g.added;
  const backends = all.flatMap((g) => {
    const factor = effective(g) / g.normal;
    return g.backends.map((b) => ({ ...b, weight: round(b.weight * factor) })).filter((b) => b.weight > 0);
  });
  return { backends, moves, allDown, shares: shares(effective) };
};
