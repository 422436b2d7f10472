import type { RolloutStep } from "#core";

const at = (s: { cloud: string; region: string }) => `${s.cloud}/${s.region}`;

/** A one-line account of a step, for events, logs and terminals. */
export const describeStep = (s: RolloutStep): string => {
  switch (s.kind) {
    case "deploy":
      return `deploy ${at(s)} r${s.revision} x${s.replicas}`;
    case "await_ready":
      return `await ${at(s)} r${s.revision}`;
    case "shift":
      return `shift ${at(s)} ->${s.to ?? "none"} ${s.weight}`;
    case "set_weights":
      return `weights ${s.weights.map((w) => `${at(w)}/r${w.revision}=${w.weight}`).join(" ")}`;
    case "pause":
      return s.durationSeconds === null ? "pause until promoted" : `pause ${s.durationSeconds}s`;
    case "analysis":
      return `analyse r${s.canary} against r${s.stable} for ${s.durationSeconds}s`;
    case "remove":
      return `remove ${at(s)} r${s.revision}${s.keepSeconds ? ` after ${s.keepSeconds}s` : ""}`;
  }
};
