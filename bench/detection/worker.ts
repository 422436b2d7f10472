import { parentPort, workerData } from "node:worker_threads";
import { type RunResult, type RunSettings, runOnce, runSeed } from "./run.ts";
import type { Effect } from "./scenario.ts";

/** A batch of runs of one scenario. */
export interface Job {
  readonly scenario: number;
  readonly effect: Effect;
  readonly from: number;
  readonly to: number;
}

export interface WorkerSetup {
  readonly seed: number;
  readonly settings: RunSettings;
}

const { seed, settings } = workerData as WorkerSetup;
parentPort?.on("message", (job: Job) => {
  const results: RunResult[] = [];
  for (let run = job.from; run < job.to; run++) {
    results.push(runOnce(job.effect, runSeed(seed, job.scenario, run), settings));
  }
  parentPort?.postMessage({ job, results });
});
