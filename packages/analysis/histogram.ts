/** A latency histogram: finite upper bounds (inclusive) and per-bucket counts, one more than bounds. */
export interface Histogram {
  readonly boundsMs: readonly number[];
  readonly counts: readonly number[];
}

/**
 * Two histograms re-expressed over the bounds both have. Merging adjacent buckets is exact, so
 * "requests slower than b" is still known exactly at every shared bound b; nothing is interpolated.
 */
export const onSharedBounds = (
  a: Histogram,
  b: Histogram,
): { boundsMs: number[]; a: number[]; b: number[] } => {
  const inB = new Set(b.boundsMs);
  const boundsMs = a.boundsMs.filter((x) => inB.has(x));
  const regroup = (h: Histogram): number[] => {
    const out: number[] = [];
    let shared = 0;
    let running = 0;
    h.counts.forEach((c, i) => {
      running += c;
      if (i < h.boundsMs.length && h.boundsMs[i] === boundsMs[shared]) {
        out.push(running);
        running = 0;
        shared += 1;
      }
    });
    out.push(running);
    return out;
  };
  return { boundsMs, a: regroup(a), b: regroup(b) };
};

/**
 * The q-quantile in ms the way Prometheus' histogram_quantile estimates it: linear within the bucket
 * that holds it, the highest finite bound when it falls in the +Inf bucket, null for no requests.
 */
export const quantileMs = (h: Histogram, q: number): number | null => {
  const total = h.counts.reduce((s, c) => s + c, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const count = h.counts[i] ?? 0;
    if (below + count >= rank && count > 0) {
      const upper = h.boundsMs[i];
      if (upper === undefined) return h.boundsMs[h.boundsMs.length - 1] ?? null;
      const lower = i === 0 ? 0 : (h.boundsMs[i - 1] ?? 0);
      return lower + ((upper - lower) * (rank - below)) / count;
    }
    below += count;
  }
  return h.boundsMs[h.boundsMs.length - 1] ?? null;
};

/** Requests certainly slower than `limitMs`: those in buckets whose lower edge is at or above it. */
export const certainlySlowerThan = (h: Histogram, limitMs: number): number => {
  let slower = 0;
  h.counts.forEach((c, i) => {
    const lowerEdge = i === 0 ? 0 : (h.boundsMs[i - 1] ?? 0);
    if (lowerEdge >= limitMs) slower += c;
  });
  return slower;
};
