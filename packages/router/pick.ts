import type { Backend } from "#core";

/** Weights that are zero, negative or not finite never draw traffic. */
const shareOf = (backend: Backend, exclude: Backend | undefined): number =>
  backend === exclude || !Number.isFinite(backend.weight) || backend.weight <= 0 ? 0 : backend.weight;

/**
 * Chooses a backend with probability proportional to its weight, or null when none has weight.
 * `random` is a number in [0, 1) (so a caller can pass a seeded or a per-client value for
 * stickiness); `exclude` drops one backend, so a retry avoids the one that just failed and the
 * others keep their proportions.
 *
 * @example
 * pickBackend(table.backends, Math.random())
 * pickBackend(table.backends, Math.random(), failed)
 */
export const pickBackend = (
  backends: readonly Backend[],
  random: number,
  exclude?: Backend,
): Backend | null => {
  let total = 0;
  for (const backend of backends) total += shareOf(backend, exclude);
  if (total === 0) return null;
  const point = Math.min(Math.max(random, 0), 1) * total;
  let reached = 0;
  let last: Backend | null = null;
  for (const backend of backends) {
    const share = shareOf(backend, exclude);
    if (share === 0) continue;
    reached += share;
    last = backend;
    if (point < reached) return backend;
  }
  // Rounding (or random = 1) can leave the point just past the last sum.
  return last;
};
