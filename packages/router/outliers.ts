import { DevsimError } from "#core";

export interface OutlierOptions {
  /** Connection failures in a row that eject a backend; 3 by default. */
  readonly consecutiveFailures?: number;
  /** How long a first ejection lasts; each further one lasts this much longer. 5 s by default. */
  readonly baseEjectionMs?: number;
  /** The longest an ejection lasts, and how long a backend must then stay in before its count resets. 60 s by default. */
  readonly maxEjectionMs?: number;
  /** Milliseconds from any fixed origin. */
  readonly now?: () => number;
}

interface Record {
  failures: number;
  /** Whether the last connection failed; an ejection clears `failures` but not this, only a success does. */
  lastFailed: boolean;
  /** How many times in a row the backend was ejected; it sets the next ejection's length. */
  ejections: number;
  ejectedUntil: number;
}

type Weighted = { readonly url: string; readonly weight: number };

/** `backends` without those `out` names, unless none left would have weight: then all of them. */
const leaveOut = <B extends Weighted>(backends: readonly B[], out: (b: B) => boolean): readonly B[] => {
  const kept = backends.filter((b) => !out(b));
  return kept.some((b) => b.weight > 0) ? kept : backends;
};

/**
 * Passive health, in the manner of Envoy's outlier detection
 * (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier): a backend
 * whose connections fail `consecutiveFailures` times in a row is left out of this router's choice
 * for `baseEjectionMs` × the number of times it was ejected in a row (at most `maxEjectionMs`),
 * then let back in; one success resets its failures, and staying in for `maxEjectionMs` resets the
 * ejection count. Backends are known by URL, so the state outlives routing-table versions.
 * Longer than two health intervals by default, so a dead backend stays out until active health
 * has moved its weight away. Pure bookkeeping: time comes from `now`.
 */
export class OutlierDetector {
  readonly #consecutiveFailures: number;
  readonly #baseEjectionMs: number;
  readonly #maxEjectionMs: number;
  readonly #now: () => number;
  readonly #records = new Map<string, Record>();
  /** Whether any record may still be ejected: spares the hot path a lookup per backend. */
  #anyEjected = false;

  constructor({
    consecutiveFailures = 3,
    baseEjectionMs = 5_000,
    maxEjectionMs = 60_000,
    now = () => performance.now(),
  }: OutlierOptions = {}) {
    if (!(Number.isInteger(consecutiveFailures) && consecutiveFailures >= 1)) {
      throw new DevsimError("invalid_input", "consecutiveFailures must be an integer >= 1", {
        consecutiveFailures,
      });
    }
    if (!(baseEjectionMs > 0 && maxEjectionMs >= baseEjectionMs && Number.isFinite(maxEjectionMs))) {
      throw new DevsimError("invalid_input", "ejection times must be finite, with 0 < base <= max", {
        baseEjectionMs,
        maxEjectionMs,
      });
    }
    this.#consecutiveFailures = consecutiveFailures;
    this.#baseEjectionMs = baseEjectionMs;
    this.#maxEjectionMs = maxEjectionMs;
    this.#now = now;
  }

  /** A connection to `url` failed (refused, reset, timed out); true when that ejected it. */
  failure(url: string): boolean {
    const now = this.#now();
    let record = this.#records.get(url);
    if (record === undefined) {
      record = { failures: 0, lastFailed: false, ejections: 0, ejectedUntil: 0 };
      this.#records.set(url, record);
    }
    record.lastFailed = true;
    // Requests sent before the ejection keep failing while it lasts; they do not lengthen it.
    if (record.ejectedUntil > now) return false;
    this.#forgetOldEjections(record, now);
    record.failures += 1;
    if (record.failures < this.#consecutiveFailures) return false;
    record.failures = 0;
    record.ejections += 1;
    record.ejectedUntil = now + Math.min(this.#baseEjectionMs * record.ejections, this.#maxEjectionMs);
    this.#anyEjected = true;
    return true;
  }

  /** `url` answered (whatever the status): its run of failures is over. */
  success(url: string): void {
    const record = this.#records.get(url);
    if (record === undefined) return;
    const now = this.#now();
    record.failures = 0;
    record.lastFailed = false;
    this.#forgetOldEjections(record, now);
    // Healthy and with nothing to remember: the map stays as small as the set of troubled backends.
    if (record.ejections === 0 && record.ejectedUntil <= now) this.#records.delete(url);
  }

  /** Whether `url` is out of the choice now. */
  isEjected(url: string): boolean {
    if (!this.#anyEjected) return false;
    const record = this.#records.get(url);
    return record !== undefined && record.ejectedUntil > this.#now();
  }

  /**
   * The backends still in the choice: all of them when none is ejected, and all of them too when
   * every one with weight is ejected (routing somewhere beats refusing everything, as Envoy's
   * panic threshold does).
   */
  filter<B extends Weighted>(backends: readonly B[]): readonly B[] {
    if (!this.#anyEjected) return backends;
    const now = this.#now();
    const ejected = (b: B): boolean => (this.#records.get(b.url)?.ejectedUntil ?? 0) > now;
    if (!backends.some(ejected)) {
      this.#anyEjected = [...this.#records.values()].some((r) => r.ejectedUntil > now);
      return backends;
    }
    return leaveOut(backends, ejected);
  }

  /**
   * The backends for a retry: those without a recent connection failure (ejected or not), when
   * any of them has weight; otherwise the same list. A retry that lands on a second backend of a
   * region that just died fails as surely as the first attempt did.
   */
  unsuspected<B extends Weighted>(backends: readonly B[]): readonly B[] {
    if (this.#records.size === 0) return backends;
    const now = this.#now();
    return leaveOut(backends, (b) => {
      const record = this.#records.get(b.url);
      return record !== undefined && (record.lastFailed || record.ejectedUntil > now);
    });
  }

  #forgetOldEjections(record: Record, now: number): void {
    if (record.ejections > 0 && now - record.ejectedUntil >= this.#maxEjectionMs) record.ejections = 0;
  }
}
