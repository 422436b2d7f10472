import type { ProbeStatus } from "./probe-state.ts";

/**
 * A target's health from its probed backends (every running backend with an endpoint): unhealthy
 * only when every one of them is, since one bad revision beside a good one (a canary) is the
 * rollout's to judge, not a reason to leave the region; healthy when any is healthy; unknown
 * otherwise, and when there is nothing to probe.
 *
 * @example targetStatus(["healthy", "unhealthy"]) // "healthy"
 */
export const targetStatus = (backends: readonly ProbeStatus[]): ProbeStatus => {
  if (backends.length === 0) return "unknown";
  if (backends.every((s) => s === "unhealthy")) return "unhealthy";
  return backends.includes("healthy") ? "healthy" : "unknown";
};
