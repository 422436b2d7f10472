import type { CommandDeps } from "#engine";
import type { ApiMetrics } from "./metrics.ts";

export interface ApiDeps extends CommandDeps {
  readonly metrics: ApiMetrics;
  /** Whether the API can serve: false answers /readyz with 503. */
  readonly ready: () => Promise<boolean>;
  /** More Prometheus text to serve on /metrics, such as a router's in the same process. */
  readonly extraMetrics?: () => string | Promise<string>;
  /** Base URL of the simulated clouds' control API; when set, `/v1/sim/faults` manages their faults. */
  readonly simUrl?: string;
  /** How often `GET /v1/rollouts/{id}/watch` looks for new events; 500 ms by default. */
  readonly watchPollMs?: number;
  /**
   * Set where the host buffers whole responses (AWS Lambda without response streaming): a watch
   * then answers as a long poll, ending as soon as it has sent events, or after this many ms
   * without any, and the client comes back after the last event id. Unset: one stream that lasts
   * until the rollout finishes.
   */
  readonly watchLongPollMs?: number;
}
