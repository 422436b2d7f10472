import { claimHealthChecks, findWorkloadById, listBackendHealth } from "#store";
import { assessWorkload, type HealthDeps, type Probed, type TargetChange } from "./assess.ts";
import { mapConcurrently } from "./concurrently.ts";
import { probeBackend } from "./probe.ts";

export interface HealthPassOptions {
  /** The time the pass acts at: what is due, and when things happened. Default: the clock. */
  readonly now?: Date;
  /** Aborts the probes under way; nothing is recorded for a workload whose probes were cut short. */
  readonly signal?: AbortSignal;
  /** Probes in flight at once, across workloads. Default 32. */
  readonly concurrency?: number;
  /** Workloads claimed at a time. Default 50. */
  readonly batchSize?: number;
}

export interface HealthPassResult {
  /** Workloads whose backends were probed. */
  readonly workloads: number;
  readonly probes: number;
  /** Targets that failed over, took a recovery step or recovered. */
  readonly changes: readonly TargetChange[];
}

/**
 * One health pass: claims every live workload whose check is due, probes each of its running
 * backends that has an endpoint (all workloads' probes at once, `concurrency` at a time), and
 * hands each workload's outcomes to `assessWorkload`, which fails targets over and back. A
 * workload whose assessment fails is logged and left for its next interval; the others go on.
 *
 * @example await runHealthPass(deps, { now: new Date() })
 */
export const runHealthPass = async (
  deps: HealthDeps,
  { now = new Date(), signal, concurrency = 32, batchSize = 50 }: HealthPassOptions = {},
): Promise<HealthPassResult> => {
  let workloads = 0;
  let probes = 0;
  const changes: TargetChange[] = [];
  for (;;) {
    signal?.throwIfAborted();
    const ids = await claimHealthChecks(deps.sql, now, batchSize);
    const plans = (
      await Promise.all(
        ids.map(async (id) => {
          const workload = await findWorkloadById(deps.sql, id);
          if (!workload || workload.deletedAt !== null) return [];
          const backends = (await listBackendHealth(deps.sql, id)).filter((b) => b.url !== "");
          return [{ workload, backends }];
        }),
      )
    ).flat();
    const jobs = plans.flatMap((plan) => plan.backends.map((backend) => ({ plan, backend })));
    const outcomes = await mapConcurrently(jobs, concurrency, ({ plan, backend }) => {
      const check = plan.workload.healthCheck;
      return probeBackend(backend.url, check.path, check.timeoutSeconds * 1000, signal);
    });
    signal?.throwIfAborted();
    await Promise.all(
      plans.map(async (plan) => {
        const probed: Probed[] = jobs.flatMap((job, i) => {
          const outcome = outcomes[i];
          return job.plan === plan && outcome ? [{ backend: job.backend, outcome }] : [];
        });
        try {
          changes.push(...(await assessWorkload(deps, plan.workload, probed, now)));
        } catch (error) {
          deps.log.error(
            { workload: plan.workload.name, err: error },
            "health assessment failed; next interval retries",
          );
        }
      }),
    );
    workloads += plans.length;
    probes += jobs.length;
    if (ids.length < batchSize) return { workloads, probes, changes };
  }
};
