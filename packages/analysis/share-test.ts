import { minimise } from "./minimise.ts";
import { logAddExp, type Prior, softplus } from "./mixture.ts";

/**
 * The anytime-valid test both judges share: is the canary over-represented among the "bad" requests
 * (errors, or requests slower than a latency bound) compared with the "good" ones?
 *
 * Method. Lindon and Malek, "Anytime-Valid Inference for Multinomial Count Data", NeurIPS 2022,
 * test count data by conditioning on the events: when two arms fail alike, each failure comes from
 * an arm with probability proportional to that arm's traffic, so the arms of the failures are
 * multinomial draws with known probabilities, and a mixture likelihood ratio against them is a test
 * martingale (their multinomial test, and its use for time-inhomogeneous Poisson counting processes
 * such as the errors of a canary and its baseline). We do not assume the traffic share w is known,
 * since retries, rounding and sticky routing move it; we test every w at once:
 *
 *   E_t(w) = Σ_j ν_j · M_bad,j(w) · M_good,j(w),   E_t = inf_w E_t(w),
 *
 * where M_g(w) = Σ_i π_i Π_{requests r in g} Bern(canary_r; expit(logit w + s_i)) / Bern(canary_r; w)
 * is the mixture likelihood ratio of group g's labels against share w: Robbins' method of mixtures,
 * the mixture sequential probability ratio test of Johari, Pekelis and Walsh, "Always Valid
 * Inference: Continuous Monitoring of A/B Tests", Operations Research 2022, with a discrete mixing
 * distribution π (mixture.ts). The good group's factor pins w to what the good requests say, the bad
 * group's factor collects the evidence, and ν_j weighs splits (one for errors, one per latency bound).
 *
 * Why it is valid. The router sends each request to the canary with probability w independently of
 * what then happens to it. If the canary behaves like the stable revision, a request's outcome does
 * not depend on where it went, so conditionally on every request's outcome (which decides its group)
 * the labels are independent Bernoulli(w), however the error rate or latency drifts over time. Then
 * for the true w every term of E_t(w) is a product of per-request likelihood ratios with conditional
 * mean 1, so E_t(w) is a test martingale, E_t ≤ E_t(w), and Ville's inequality gives
 * P(∃t: E_t ≥ 1/α) ≤ α, however often one looks and whenever one stops. Only cumulative counts
 * enter, so looking once a tick samples that martingale and stays valid. An infimum over the null of
 * test martingales is an e-process (Ramdas, Grünwald, Vovk and Shafer, "Game-Theoretic Statistics and
 * Safe Anytime-Valid Inference", Statistical Science 2023). A canary that is better than stable
 * makes the one-sided factors supermartingales instead (priors.ts), so it is covered too.
 *
 * Computing the inf. With η = logit w, the log of each mixture component,
 * c·s − g·(softplus(η + s) − softplus(η)) for c canary requests among g, decreases in η when s > 0
 * and increases when s < 0. So on a cell [a, b] every component is at least its value at b (s > 0)
 * or at a (s < 0), which gives a lower bound of E on the cell that tends to E as cells shrink.
 * Brent's method (minimise.ts) finds the minimum cheaply; only when that minimum reaches the
 * threshold do we certify it by branch and bound over cells covering the whole line. "Exceeded" is
 * therefore never claimed on a numerical minimum that might have missed a lower point.
 */

/** One split of all requests into a bad and a good group, with the canary's count in each. */
export interface Split {
  readonly bad: number;
  readonly badCanary: number;
  readonly good: number;
  readonly goodCanary: number;
  /** Natural log of this split's weight ν; the weights of all splits sum to at most 1. */
  readonly logWeight: number;
}

export interface SharePriors {
  /** Mixing distribution of the bad group's log-odds shift: positive, the way a regression moves. */
  readonly bad: Prior;
  /** Mixing distribution of the good group's log-odds shift. */
  readonly good: Prior;
}

export interface ShareTestResult {
  /** Natural log of the e-process: a certified lower bound when `exceeded`, else the least value found. */
  readonly logE: number;
  /** Whether the e-process certainly reached `logThreshold`. */
  readonly exceeded: boolean;
  /** The canary traffic share at which the e-process is smallest. */
  readonly share: number;
  /** Index of the split that carries most of the evidence at that share. */
  readonly split: number;
}

interface Prepared {
  readonly shifts: Float64Array;
  readonly logWeights: Float64Array;
  /** Scratch: softplus(η + shift) for the η being evaluated. */
  readonly shifted: Float64Array;
}

const prepare = (prior: Prior): Prepared => ({
  shifts: Float64Array.from(prior.shifts),
  logWeights: Float64Array.from(prior.logWeights),
  shifted: new Float64Array(prior.shifts.length),
});

const NEG_INF = Number.NEGATIVE_INFINITY;

/** E(η) and, per split, its four monotone parts: bad decreasing, bad increasing, good dec, good inc. */
interface Point {
  readonly eta: number;
  readonly parts: Float64Array;
  readonly logE: number;
}

/**
 * log Σ_i π_i LR_i for one group, LR_i being the likelihood ratio of shift i against share expit(η):
 * all components (`part` 0), only those with shift ≥ 0, which decrease in η (1), or only those with
 * shift < 0, which increase (2).
 */
const groupLogMix = (p: Prepared, base: number, canary: number, size: number, part: 0 | 1 | 2): number => {
  const n = p.shifts.length;
  let max = NEG_INF;
  for (let i = 0; i < n; i++) {
    const s = p.shifts[i] as number;
    if ((part === 1 && s < 0) || (part === 2 && s >= 0)) continue;
    const v = (p.logWeights[i] as number) + canary * s - size * ((p.shifted[i] as number) - base);
    if (v > max) max = v;
  }
  if (max === NEG_INF) return max;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const s = p.shifts[i] as number;
    if ((part === 1 && s < 0) || (part === 2 && s >= 0)) continue;
    sum += Math.exp(
      (p.logWeights[i] as number) + canary * s - size * ((p.shifted[i] as number) - base) - max,
    );
  }
  return max + Math.log(sum);
};

/** The parts' limits: decreasing parts as η → +∞, increasing parts as η → −∞. */
const limitParts = (p: Prepared, canary: number, size: number): [number, number] => {
  let dec = NEG_INF;
  let inc = NEG_INF;
  p.shifts.forEach((s, i) => {
    const w = p.logWeights[i] as number;
    if (s >= 0) dec = logAddExp(dec, w - (size - canary) * s);
    else inc = logAddExp(inc, w + canary * s);
  });
  return [dec, inc];
};

const logit = (p: number): number => Math.log(p / (1 - p));
const expit = (x: number): number => 1 / (1 + Math.exp(-x));

/** How close to the minimum the search gets, in standard errors of the pooled share's log-odds. */
const SEARCH_TOLERANCE = 0.01;
/** Most points branch and bound may add before giving up and not claiming the threshold. */
const MAX_CELLS = 400;
/** How far below the least value found the certified bound may stay once it reached the threshold. */
const REPORT_TOLERANCE = 0.05;

/**
 * The e-process E_t above for the given splits, and whether it reached `logThreshold` (= log 1/α).
 * Every split must count the same requests: `bad + good` and `badCanary + goodCanary` equal across
 * splits.
 */
export const shareTest = (
  splits: readonly Split[],
  priors: SharePriors,
  logThreshold: number,
): ShareTestResult => {
  const first = splits[0];
  if (first === undefined) return { logE: NEG_INF, exceeded: false, share: 0, split: -1 };
  const bad = prepare(priors.bad);
  const good = prepare(priors.good);
  const total = first.bad + first.good;
  const canary = first.badCanary + first.goodCanary;
  const n = splits.length;

  const at = (eta: number): number => {
    for (let i = 0; i < bad.shifts.length; i++) bad.shifted[i] = softplus(eta + (bad.shifts[i] as number));
    for (let i = 0; i < good.shifts.length; i++) good.shifted[i] = softplus(eta + (good.shifts[i] as number));
    return softplus(eta);
  };
  const term = (s: Split, base: number): number =>
    s.logWeight +
    groupLogMix(bad, base, s.badCanary, s.bad, 0) +
    groupLogMix(good, base, s.goodCanary, s.good, 0);
  const value = (eta: number): number => {
    const base = at(eta);
    let logE = NEG_INF;
    for (const s of splits) logE = logAddExp(logE, term(s, base));
    return logE;
  };
  const point = (eta: number): Point => {
    const base = at(eta);
    const parts = new Float64Array(4 * n);
    let logE = NEG_INF;
    splits.forEach((s, j) => {
      parts[4 * j] = groupLogMix(bad, base, s.badCanary, s.bad, 1);
      parts[4 * j + 1] = groupLogMix(bad, base, s.badCanary, s.bad, 2);
      parts[4 * j + 2] = groupLogMix(good, base, s.goodCanary, s.good, 1);
      parts[4 * j + 3] = groupLogMix(good, base, s.goodCanary, s.good, 2);
      const t =
        s.logWeight +
        logAddExp(parts[4 * j] as number, parts[4 * j + 1] as number) +
        logAddExp(parts[4 * j + 2] as number, parts[4 * j + 3] as number);
      logE = logAddExp(logE, t);
    });
    return { eta, parts, logE };
  };
  const strongest = (eta: number): number => {
    const base = at(eta);
    let best = 0;
    let max = NEG_INF;
    splits.forEach((s, j) => {
      const t = term(s, base);
      if (t > max) {
        max = t;
        best = j;
      }
    });
    return best;
  };
  const limits = splits.map((s) => [
    ...limitParts(bad, s.badCanary, s.bad),
    ...limitParts(good, s.goodCanary, s.good),
  ]);

  /** Lower bound of log E on [a, b]; null stands for −∞ (a) or +∞ (b). */
  const cellBound = (a: Point | null, b: Point | null): number => {
    let bound = NEG_INF;
    splits.forEach((s, j) => {
      const lim = limits[j] as number[];
      const badDec = b ? (b.parts[4 * j] as number) : (lim[0] as number);
      const badInc = a ? (a.parts[4 * j + 1] as number) : (lim[1] as number);
      const goodDec = b ? (b.parts[4 * j + 2] as number) : (lim[2] as number);
      const goodInc = a ? (a.parts[4 * j + 3] as number) : (lim[3] as number);
      bound = logAddExp(bound, s.logWeight + logAddExp(badDec, badInc) + logAddExp(goodDec, goodInc));
    });
    return bound;
  };

  // Search between the groups' own estimates of the share, where the minimum lies.
  const clampedLogit = (c: number, g: number): number => logit((c + 0.5) / (g + 1));
  const pooled = clampedLogit(canary, total);
  const spread = 1 / Math.sqrt((total + 1) * expit(pooled) * (1 - expit(pooled)));
  let lo = pooled;
  let hi = pooled;
  for (const s of splits) {
    for (const g of [clampedLogit(s.badCanary, s.bad), clampedLogit(s.goodCanary, s.good)]) {
      lo = Math.min(lo, g);
      hi = Math.max(hi, g);
    }
  }
  lo -= 2 * spread;
  hi += 2 * spread;

  const searched: number[] = [pooled];
  let bestEta = pooled;
  let bestLogE = value(pooled);
  const probe = (eta: number): number => {
    const v = value(eta);
    searched.push(eta);
    if (v < bestLogE) {
      bestLogE = v;
      bestEta = eta;
    }
    return v;
  };
  minimise(probe, lo, hi, SEARCH_TOLERANCE * spread);
  const below = (logE: number, eta: number): ShareTestResult => ({
    logE,
    exceeded: false,
    share: expit(eta),
    split: strongest(eta),
  });
  if (bestLogE < logThreshold) return below(bestLogE, bestEta);

  // Certify: cover the line with cells whose lower bounds all reach the threshold.
  searched.sort((a, b) => a - b);
  const cells: Point[] = searched.filter((x, i) => i === 0 || x > (searched[i - 1] as number)).map(point);
  let stepLeft = Math.max(spread, (searched[searched.length - 1] as number) - (searched[0] as number));
  let stepRight = stepLeft;
  let lowest = NEG_INF;
  for (let added = 0; added < MAX_CELLS; added++) {
    const head = cells[0] as Point;
    const tail = cells[cells.length - 1] as Point;
    let minBound = cellBound(null, head);
    let worst = -1;
    const right = cellBound(tail, null);
    if (right < minBound) {
      minBound = right;
      worst = cells.length - 1;
    }
    for (let i = 0; i + 1 < cells.length; i++) {
      const v = cellBound(cells[i] as Point, cells[i + 1] as Point);
      if (v < minBound) {
        minBound = v;
        worst = i;
      }
    }
    lowest = minBound;
    // Once certified, refine a little further so the reported value is close to the true infimum.
    if (minBound >= logThreshold && bestLogE - minBound <= REPORT_TOLERANCE) break;
    let fresh: Point;
    if (worst === -1) {
      fresh = point(head.eta - stepLeft);
      stepLeft *= 2;
      cells.unshift(fresh);
    } else if (worst === cells.length - 1) {
      fresh = point(tail.eta + stepRight);
      stepRight *= 2;
      cells.push(fresh);
    } else {
      const a = cells[worst] as Point;
      const b = cells[worst + 1] as Point;
      fresh = point((a.eta + b.eta) / 2);
      if (!(fresh.eta > a.eta && fresh.eta < b.eta)) break;
      cells.splice(worst + 1, 0, fresh);
    }
    if (fresh.logE < bestLogE) {
      bestLogE = fresh.logE;
      bestEta = fresh.eta;
    }
    if (fresh.logE < logThreshold) return below(fresh.logE, fresh.eta);
  }
  if (lowest >= logThreshold)
    return { logE: lowest, exceeded: true, share: expit(bestEta), split: strongest(bestEta) };
  // Not certified within the budget: do not claim the threshold.
  return below(lowest, bestEta);
};
