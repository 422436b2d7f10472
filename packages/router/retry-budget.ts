import { DevsimError } from "#core";

export interface RetryBudgetOptions {
  /** Retries allowed per request, on average; 0.2 by default. */
  readonly ratio?: number;
  /** Retries allowed per second whatever the traffic, so a quiet router still retries; 10 by default. */
  readonly minPerSecond?: number;
  /** Milliseconds from any fixed origin. */
  readonly now?: () => number;
}

/**
 * Bounds retries to a share of requests, as Finagle's and Envoy's retry budgets do: each request
 * deposits `ratio` of a retry, each retry withdraws one, and a reserve refilled at `minPerSecond`
 * covers quiet times. When a whole workload is down every request fails, and without a budget
 * every one would be sent twice; with it the load on the backends grows by at most `ratio`.
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #minPerSecond: number;
  readonly #now: () => number;
  #deposits = 0;
  #reserve: number;
  /** When the reserve was last topped up; unset until the first retry, which finds it full. */
  #refilledAt: number | null = null;

  constructor({ ratio = 0.2, minPerSecond = 10, now = () => performance.now() }: RetryBudgetOptions = {}) {
    if (!(ratio >= 0 && ratio <= 1)) {
      throw new DevsimError("invalid_input", "ratio must be in [0, 1]", { ratio });
    }
    if (!(minPerSecond >= 0 && Number.isFinite(minPerSecond))) {
      throw new DevsimError("invalid_input", "minPerSecond must be a finite number >= 0", { minPerSecond });
    }
    this.#ratio = ratio;
    this.#minPerSecond = minPerSecond;
    this.#now = now;
    this.#reserve = minPerSecond;
  }

  /** Counts a request; call it once per request, before any retry. */
  request(): void {
    // Capped, so a long quiet spell of successes does not bank an unbounded burst of retries.
    this.#deposits = Math.min(this.#deposits + this.#ratio, Math.max(1, this.#ratio * 1_000));
  }

  /** Takes one retry from the budget; false (and nothing taken) when it is spent. */
  tryRetry(): boolean {
    if (this.#deposits >= 1) {
      this.#deposits -= 1;
      return true;
    }
    const now = this.#now();
    const elapsedMs = this.#refilledAt === null ? 0 : now - this.#refilledAt;
    this.#reserve = Math.min(this.#minPerSecond, this.#reserve + (elapsedMs / 1000) * this.#minPerSecond);
    this.#refilledAt = now;
    if (this.#reserve >= 1) {
      this.#reserve -= 1;
      return true;
    }
    return false;
  }
}
