/**
 * Log-spaced latency bucket bounds: `perDoubling` bounds for every doubling from `minMs` to at least
 * `maxMs`, rounded to three significant digits so they read well as Prometheus `le` labels.
 */
export const logSpacedBounds = (minMs: number, maxMs: number, perDoubling: number): number[] => {
  const bounds: number[] = [];
  for (let k = 0; ; k++) {
    const exact = minMs * 2 ** (k / perDoubling);
    const rounded = Number(exact.toPrecision(3));
    if (bounds.length === 0 || rounded > (bounds[bounds.length - 1] ?? 0)) bounds.push(rounded);
    if (exact >= maxMs) return bounds;
  }
};

/**
 * The bucket bounds routers should use: four per doubling (each 19 % above the last) from 1 ms to
 * 32.8 s, 61 finite buckets. Any median then lies within 9 % of a bound, so the share of requests
 * slower than that bound moves clearly when the median moves by 10 %, which is what the latency
 * test looks at; the router's coarser default (5, 10, 25, 50 ms, …) can be 40 % away.
 */
export const RECOMMENDED_LATENCY_BUCKET_BOUNDS_MS: readonly number[] = logSpacedBounds(1, 32_768, 4);
