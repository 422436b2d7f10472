/**
 * A discrete mixing distribution over shifts of the log-odds that a request is the canary's. Being
 * discrete it is an exact prior, not an approximation of one: the mixture likelihood ratio built on
 * it is a test martingale whatever the grid, so the grid only affects power.
 */
export interface Prior {
  readonly shifts: readonly number[];
  readonly logWeights: readonly number[];
}

/** log(1 + e^x) without overflow or loss of precision. */
export const softplus = (x: number): number =>
  x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));

/** log(Σ e^x) of the values, −Infinity for none. */
export const logSumExp = (xs: readonly number[]): number => {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > max) max = x;
  if (max === Number.NEGATIVE_INFINITY || max === Number.POSITIVE_INFINITY) return max;
  let sum = 0;
  for (const x of xs) sum += Math.exp(x - max);
  return max + Math.log(sum);
};

/** e^x, kept finite so evidence stays JSON (which has no Infinity). */
export const finiteExp = (x: number): number => Math.min(Math.exp(x), Number.MAX_VALUE);

/** log(e^a + e^b). */
export const logAddExp = (a: number, b: number): number => {
  const max = Math.max(a, b);
  if (max === Number.NEGATIVE_INFINITY) return max;
  return max + Math.log1p(Math.exp(-Math.abs(a - b)));
};

const normalise = (shifts: number[], weights: number[]): Prior => {
  const total = weights.reduce((s, w) => s + w, 0);
  return { shifts, logWeights: weights.map((w) => Math.log(w / total)) };
};

/**
 * Shifts of one sign whose size is log-normal around `center` (the effect the test is tuned to),
 * `spread` being the standard deviation of the log of the size. Used for the direction a regression
 * moves: it puts no weight on tiny shifts, which cannot be told from noise anyway.
 */
export const logNormalPrior = (center: number, spread: number, points: number, sign: 1 | -1): Prior => {
  const shifts: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < points; i++) {
    const z = -3.5 + (7 * (i + 0.5)) / points;
    shifts.push(sign * center * Math.exp(spread * z));
    weights.push(Math.exp(-(z * z) / 2));
  }
  return normalise(shifts, weights);
};

/**
 * Shifts of one sign whose size is half-normal with scale `scale`, on a grid over 4 scales. Used to
 * pin the traffic share: most weight sits near zero, where an unchanged group belongs.
 */
export const halfNormalPrior = (scale: number, points: number, sign: 1 | -1): Prior => {
  const shifts: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < points; i++) {
    const z = (4 * (i + 0.5)) / points;
    shifts.push(sign * scale * z);
    weights.push(Math.exp(-(z * z) / 2));
  }
  return normalise(shifts, weights);
};

/** A mixture of priors with the given weights (which need not sum to 1). */
export const mixPriors = (parts: readonly { readonly prior: Prior; readonly weight: number }[]): Prior => {
  const total = parts.reduce((s, p) => s + p.weight, 0);
  const shifts: number[] = [];
  const logWeights: number[] = [];
  for (const { prior, weight } of parts) {
    prior.shifts.forEach((s, i) => {
      shifts.push(s);
      logWeights.push((prior.logWeights[i] ?? Number.NEGATIVE_INFINITY) + Math.log(weight / total));
    });
  }
  return { shifts, logWeights };
};
