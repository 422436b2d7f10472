/**
 * A seeded pseudo-random source for tests and benchmarks. Analysis itself never draws random numbers;
 * code that needs randomness takes a `Random` so every run can be replayed from its seed.
 */
export interface Random {
  /** Uniform on [0, 1). */
  next(): number;
}

/**
 * Mulberry32 (Tommy Ettinger's 32-bit generator): small, fast and good enough for Monte Carlo
 * checks; not for anything secret.
 */
export const seededRandom = (seed: number): Random => {
  let state = seed | 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    },
  };
};

/** A standard normal draw (Box–Muller; the second value of the pair is dropped for simplicity). */
export const normalDraw = (random: Random): number => {
  const u = 1 - random.next();
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};

/** How many of `trials` independent events of probability `p` happen, by counting them one by one. */
export const binomialDraw = (random: Random, trials: number, p: number): number => {
  let hits = 0;
  for (let i = 0; i < trials; i++) if (random.next() < p) hits += 1;
  return hits;
};
