import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AnalysisSettings, type OutcomeQuery } from "#core";
import { findRollout, listAnalysis, type RolloutRecord } from "#store";
import { workloadInput } from "../../test/support/fixtures.ts";
import { type Harness, startHarness } from "../../test/support/harness.ts";
import { ANALYSIS_TICK_MS, analyse } from "./analysis-step.ts";
import { createWorkload } from "./commands.ts";
import type { EngineDeps } from "./deps.ts";

let h: Harness;
let rollout: RolloutRecord;
let deps: EngineDeps;
const asked: OutcomeQuery[] = [];

beforeAll(async () => {
  h = await startHarness();
  const { rollout: first } = await createWorkload(h.deps, workloadInput("judged"));
  const found = first && (await findRollout(h.deps.sql, first.id));
  if (!found) throw new Error("no rollout");
  rollout = found;
  // The metric source, with every window it is asked about recorded.
  deps = {
    ...h.deps,
    outcomes: {
      outcomes: (query) => {
        asked.push(query);
        return h.deps.outcomes.outcomes(query);
      },
    },
  };
});
beforeEach(() => {
  asked.length = 0;
});
afterAll(async () => {
  await h?.close();
});

const step = { kind: "analysis", durationSeconds: 2, stable: 1, canary: 2 } as const;
const settings = AnalysisSettings.parse({ onInconclusive: "extend" });

describe("analyse", () => {
  it("waits without judging or recording on the call that opens the window", async () => {
    const outcome = await analyse(deps, { ...rollout, stepStartedAt: null }, step, settings);
    expect(outcome).toEqual({ kind: "wait", delayMs: ANALYSIS_TICK_MS, reason: "the analysis window opens" });
    expect(asked).toEqual([]);
    expect(await listAnalysis(h.deps.sql, rollout.id)).toEqual([]);
  });

  it("waits likewise while this clock is behind the database's that started the step", async () => {
    const ahead = new Date(Date.now() + 5_000).toISOString();
    const outcome = await analyse(deps, { ...rollout, stepStartedAt: ahead }, step, settings);
    expect(outcome).toMatchObject({ kind: "wait", reason: "the analysis window opens" });
    expect(asked).toEqual([]);
    expect(await listAnalysis(h.deps.sql, rollout.id)).toEqual([]);
  });

  it("judges the window from the step's start once it is open, and records the verdict", async () => {
    const before = (await listAnalysis(h.deps.sql, rollout.id)).length;
    const startedAt = Date.now() - 500;
    const outcome = await analyse(
      deps,
      { ...rollout, stepStartedAt: new Date(startedAt).toISOString() },
      step,
      settings,
    );
    expect(outcome.kind).toBe("wait");
    expect(asked.map((q) => [q.revision, q.since])).toEqual([
      [1, startedAt],
      [2, startedAt],
    ]);
    const verdicts = (await listAnalysis(h.deps.sql, rollout.id)).slice(before);
    expect(verdicts.map((a) => a.verdict)).toEqual(["running"]);
  });
});
