import { z } from "zod";
import type { RolloutStep } from "./step.ts";
import { RolloutStrategy } from "./strategy.ts";
import { Image, SimProfile } from "./workload.ts";

export const ROLLOUT_STATUSES = [
  "progressing",
  "paused",
  "succeeded",
  "failed",
  "aborted",
  "rolled_back",
] as const;
export const RolloutStatus = z.enum(ROLLOUT_STATUSES);
export type RolloutStatus = z.infer<typeof RolloutStatus>;

/** Statuses after which a rollout never moves again. */
export const FINISHED_STATUSES: ReadonlySet<RolloutStatus> = new Set([
  "succeeded",
  "failed",
  "aborted",
  "rolled_back",
]);

/** What a client sends to start a rollout. */
export const RolloutInput = z.strictObject({
  image: Image,
  sim: SimProfile.optional(),
  strategy: RolloutStrategy.optional(),
});
export type RolloutInput = z.infer<typeof RolloutInput>;

export interface Rollout {
  readonly id: string;
  readonly workload: string;
  readonly status: RolloutStatus;
  readonly fromRevision: number | null;
  readonly toRevision: number;
  readonly strategy: RolloutStrategy;
  /** Index of the step being worked on; equals `steps.length` when all are done. */
  readonly currentStep: number;
  readonly steps: readonly RolloutStep[];
  readonly message: string | null;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
}

/** A record of something that happened, kept forever. */
export interface RolloutEvent {
  readonly id: number;
  readonly workload: string;
  readonly rolloutId: string | null;
  readonly type: string;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}
