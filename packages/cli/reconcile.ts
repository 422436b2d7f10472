import { z } from "zod";
import { deployedControlPlane, type Env } from "#config";
import type { Logger } from "#core";
import { createReconciler, startReconcileLoop } from "#engine";
import { flagError, readFlags } from "./options.ts";

const ReconcileOptions = z.object({
  leaseMs: z.coerce.number().int().min(500).max(600_000).default(15_000),
  intervalMs: z.coerce.number().int().min(10).max(60_000).default(250),
});
export type ReconcileOptions = z.infer<typeof ReconcileOptions>;

/** Reads `devsim reconcile` flags (over RECONCILE_LEASE_MS and RECONCILE_INTERVAL_MS). */
export const parseReconcileOptions = (argv: readonly string[], env: Env): ReconcileOptions => {
  const { values } = readFlags(argv, { "lease-ms": { type: "string" }, "interval-ms": { type: "string" } });
  const parsed = ReconcileOptions.safeParse({
    leaseMs: values["lease-ms"] ?? env.RECONCILE_LEASE_MS,
    intervalMs: values["interval-ms"] ?? env.RECONCILE_INTERVAL_MS,
  });
  if (!parsed.success) throw flagError(parsed.error);
  return parsed.data;
};

/**
 * `devsim reconcile`: one more reconciler copy against a deployed control plane (Postgres, Upstash
 * or its REST bridge, the clouds), configured like the functions. Runs until SIGINT or SIGTERM.
 */
export const reconcileForever = async (options: ReconcileOptions, log: Logger, stopped: Promise<void>) => {
  const deps = await deployedControlPlane(process.env);
  const reconciler = createReconciler({ ...deps, log }, { leaseMs: options.leaseMs });
  const loop = startReconcileLoop(reconciler, { intervalMs: options.intervalMs, log });
  log.info({ owner: reconciler.owner }, "reconciler running");
  await stopped;
  await loop.stop();
  await deps.sql.end({ timeout: 2 });
};
