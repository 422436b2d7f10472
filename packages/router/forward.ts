import type { Backend, RoutingTable } from "#core";
import { OutcomeCounters } from "./outcomes.ts";
import { OutlierDetector } from "./outliers.ts";
import { pickBackend } from "./pick.ts";
import { resolveWorkload } from "./resolve.ts";
import { RetryBudget } from "./retry-budget.ts";
import type { RoutingTableSource } from "./table-source.ts";

/** The response header naming the backend that answered, as `<cloud>/<region>/<revision>`. */
export const BACKEND_HEADER = "x-devsim-backend";

export const backendName = (backend: Backend): string =>
  `${backend.cloud}/${backend.region}/${backend.revision}`;

/** Methods that may be sent again when the connection fails; POST and PATCH may not. */
export const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

export type RouterErrorCode = "not_found" | "unavailable" | "bad_gateway" | "internal";

/** An answer the router gives itself, as JSON `{ error: { code, message, details } }`. */
export interface RouterFailure {
  readonly status: 404 | 500 | 502 | 503;
  readonly code: RouterErrorCode;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** The backend last tried, named in `x-devsim-backend`. */
  readonly backend?: Backend;
}

export const failureBody = (failure: RouterFailure) => ({
  error: { code: failure.code, message: failure.message, details: failure.details },
});

/** Where a request goes: its workload, the path to ask the backend for, and the table to pick from. */
export interface Route {
  readonly workload: string;
  readonly path: string;
  readonly table: RoutingTable;
}

/** What one attempt on one backend gave: an answer (with its status), or no answer at all. */
export type Attempted<R> =
  | { readonly answered: true; readonly status: number; readonly response: R }
  | { readonly answered: false };

export interface ForwardRequest<R> {
  /** Whether the request may be sent a second time: idempotent, and its body can be sent again. */
  readonly retryable: boolean;
  /** Whether the client has gone; then a failure says nothing about the backend. */
  readonly clientGone: () => boolean;
  /**
   * Sends the request to `backend` and calls `settle` once with what came of it; `n` is 0 for the
   * first attempt and 1 for the retry. A callback rather than a promise: this runs for every
   * request, and a transport that answers in callbacks (as undici's dispatcher does) then needs
   * no promise at all.
   */
  readonly attempt: (backend: Backend, n: number, settle: (result: Attempted<R>) => void) => void;
}

/** How a forwarded request ended: the answer and who gave it, or the failure to answer with. */
export type Forwarded<R> = { readonly backend: Backend; readonly response: R } | RouterFailure;

export interface ForwarderOptions {
  /** Where routing tables come from; put a store behind `cachedTableSource`. */
  readonly table: RoutingTableSource;
  /** A number in [0, 1) per pick; seed it in tests. */
  readonly random?: () => number;
  /** Where outcomes are counted; pass one in to read or drain it. */
  readonly counters?: OutcomeCounters;
  /** Milliseconds from any fixed origin, for latencies, ejections and the retry budget. */
  readonly now?: () => number;
  /** Passive health; one with Envoy-like defaults when not given. */
  readonly outliers?: OutlierDetector;
  /** What bounds retries; 20 % of requests plus 10 a second when not given. */
  readonly retryBudget?: RetryBudget;
}

const noWeight = (workload: string): RouterFailure => ({
  status: 503,
  code: "unavailable",
  message: `workload '${workload}' has no backend with weight`,
  details: { workload },
});

const unreadable = (workload: string): RouterFailure => ({
  status: 503,
  code: "unavailable",
  message: `the routing table of workload '${workload}' cannot be read`,
  details: { workload },
});

const routeTo = (workload: string, path: string, table: RoutingTable | null): Route | RouterFailure =>
  table === null
    ? { status: 404, code: "not_found", message: `workload '${workload}' not found`, details: { workload } }
    : { workload, path, table };

const outcome = <R>(route: Route, backend: Backend, result: Attempted<R>): Forwarded<R> =>
  result.answered
    ? { backend, response: result.response }
    : {
        status: 502,
        code: "bad_gateway",
        message: `backend ${backendName(backend)} of workload '${route.workload}' is unreachable`,
        details: {
          workload: route.workload,
          backend: { cloud: backend.cloud, region: backend.region, revision: backend.revision },
        },
        backend,
      };

/**
 * What every router front end shares, whatever its transport: which workload a request is for,
 * which backend gets it (by weight, leaving out ejected ones), one retry of a connection failure on
 * another backend within the retry budget, and the outcome of every attempt counted and fed to
 * passive health. Front ends supply how to send a request and how to answer.
 */
export class Forwarder {
  readonly #table: RoutingTableSource;
  readonly #random: () => number;
  readonly #counters: OutcomeCounters;
  readonly #now: () => number;
  readonly #outliers: OutlierDetector;
  readonly #budget: RetryBudget;

  constructor({
    table,
    random = Math.random,
    counters = new OutcomeCounters(),
    now = () => performance.now(),
    outliers,
    retryBudget,
  }: ForwarderOptions) {
    this.#table = table;
    this.#random = random;
    this.#counters = counters;
    this.#now = now;
    this.#outliers = outliers ?? new OutlierDetector({ now });
    this.#budget = retryBudget ?? new RetryBudget({ now });
  }

  /**
   * The route for a request URL (path and query) and `Host`, or the failure to answer with: at
   * once when the table source holds the table fresh in memory, as a promise when it must be read.
   */
  route(url: URL, host: string | null): Route | RouterFailure | Promise<Route | RouterFailure> {
    const resolved = resolveWorkload(url, host);
    if (resolved === null) {
      return {
        status: 404,
        code: "not_found",
        message: "no workload in the path (/w/<workload>/...) or the host (<workload>.<domain>)",
        details: { workload: null },
      };
    }
    const { workload, path } = resolved;
    try {
      const fresh = this.#table.fresh?.(workload);
      if (fresh !== undefined) return routeTo(workload, path, fresh);
      return this.#table.get(workload).then(
        (table) => routeTo(workload, path, table),
        () => unreadable(workload),
      );
    } catch {
      // A source that fails before it even returns a promise is as unreadable as one that rejects.
      return unreadable(workload);
    }
  }

  /**
   * Sends a routed request, retrying a connection failure once when it may, and calls `done` once
   * with the answer or the failure.
   */
  forward<R>(route: Route, request: ForwardRequest<R>, done: (result: Forwarded<R>) => void): void {
    this.#budget.request();
    const candidates = this.#outliers.filter(route.table.backends);
    const first = pickBackend(candidates, this.#random());
    if (first === null) {
      done(noWeight(route.workload));
      return;
    }
    this.#try(route.workload, first, 0, request, (result) => {
      if (!result.answered && request.retryable && !request.clientGone() && this.#budget.tryRetry()) {
        // Failures come together within a cloud (a region, a whole cloud out): another cloud first.
        const unsuspected = this.#outliers.unsuspected(candidates);
        const point = this.#random();
        const retry =
          pickBackend(
            unsuspected.filter((b) => b.cloud !== first.cloud),
            point,
          ) ?? pickBackend(unsuspected, point, first);
        if (retry !== null) {
          this.#try(route.workload, retry, 1, request, (again) => done(outcome(route, retry, again)));
          return;
        }
      }
      done(outcome(route, first, result));
    });
  }

  #try<R>(
    workload: string,
    backend: Backend,
    n: number,
    request: ForwardRequest<R>,
    then: (result: Attempted<R>) => void,
  ): void {
    const started = this.#now();
    request.attempt(backend, n, (result) => {
      const key = { workload, cloud: backend.cloud, region: backend.region, revision: backend.revision };
      if (result.answered) {
        this.#counters.record(key, result.status, this.#now() - started);
        this.#outliers.success(backend.url);
      } else if (!request.clientGone()) {
        // A client that hung up says nothing about the backend.
        this.#counters.record(key, 502, this.#now() - started);
        this.#outliers.failure(backend.url);
      }
      then(result);
    });
  }
}
