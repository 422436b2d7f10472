/**
 * The minimum of a smooth function of one variable on [lo, hi] by Brent's method: parabolic
 * interpolation through the three best points when it behaves, golden-section steps when it does
 * not (R. P. Brent, "Algorithms for Minimization without Derivatives", Prentice-Hall 1973, ch. 5).
 * Smooth unimodal functions take about ten evaluations instead of golden section's twenty. It only
 * estimates; callers that need a guarantee must check the answer.
 */
export const minimise = (
  f: (x: number) => number,
  lo: number,
  hi: number,
  tolerance: number,
  maxSteps = 60,
): { x: number; fx: number; evaluations: number } => {
  const golden = (3 - Math.sqrt(5)) / 2;
  let a = lo;
  let b = hi;
  let x = a + golden * (b - a);
  let w = x;
  let v = x;
  let fx = f(x);
  let fw = fx;
  let fv = fx;
  let evaluations = 1;
  let step = 0;
  let previousStep = 0;
  for (let i = 0; i < maxSteps; i++) {
    const mid = (a + b) / 2;
    const tol1 = 1e-12 * Math.abs(x) + tolerance;
    const tol2 = 2 * tol1;
    if (Math.abs(x - mid) <= tol2 - (b - a) / 2) break;
    let parabolic = false;
    if (Math.abs(previousStep) > tol1) {
      // The parabola through (v, fv), (w, fw), (x, fx) has its vertex at x + p / q.
      const r = (x - w) * (fx - fv);
      let q = (x - v) * (fx - fw);
      let p = (x - v) * q - (x - w) * r;
      q = 2 * (q - r);
      if (q > 0) p = -p;
      else q = -q;
      // Accept it only inside the bracket and shrinking faster than the step before last.
      if (Math.abs(p) < Math.abs(0.5 * q * previousStep) && p > q * (a - x) && p < q * (b - x)) {
        previousStep = step;
        step = p / q;
        const u = x + step;
        if (u - a < tol2 || b - u < tol2) step = mid > x ? tol1 : -tol1;
        parabolic = true;
      }
    }
    if (!parabolic) {
      previousStep = x >= mid ? a - x : b - x;
      step = golden * previousStep;
    }
    const u = Math.abs(step) >= tol1 ? x + step : x + (step > 0 ? tol1 : -tol1);
    const fu = f(u);
    evaluations += 1;
    if (fu <= fx) {
      if (u >= x) a = x;
      else b = x;
      v = w;
      fv = fw;
      w = x;
      fw = fx;
      x = u;
      fx = fu;
    } else {
      if (u < x) a = u;
      else b = u;
      if (fu <= fw || w === x) {
        v = w;
        fv = fw;
        w = u;
        fw = fu;
      } else if (fu <= fv || v === x || v === w) {
        v = u;
        fv = fu;
      }
    }
  }
  return { x, fx, evaluations };
};
