import { type Db, iso, jsonb } from "./db.ts";

export type AnalysisVerdict = "running" | "pass" | "fail" | "inconclusive" | "error";

export interface AnalysisResult {
  readonly step: number;
  readonly verdict: AnalysisVerdict;
  readonly metric: string | null;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

export const recordAnalysis = async (
  db: Db,
  rolloutId: string,
  result: Omit<AnalysisResult, "createdAt">,
): Promise<void> => {
  await db`
    INSERT INTO analysis_results (rollout_id, step, verdict, metric, evidence)
    VALUES (${rolloutId}, ${result.step}, ${result.verdict}, ${result.metric}, ${jsonb(result.evidence)}::text::jsonb)`;
};

/** A rollout's analysis verdicts in order. */
export const listAnalysis = async (db: Db, rolloutId: string): Promise<AnalysisResult[]> => {
  const rows = await db<
    {
      step: number;
      verdict: AnalysisVerdict;
      metric: string | null;
      evidence: Record<string, unknown>;
      created_at: Date;
    }[]
  >`SELECT step, verdict, metric, evidence, created_at FROM analysis_results WHERE rollout_id = ${rolloutId} ORDER BY id`;
  return rows.map((r) => ({
    step: r.step,
    verdict: r.verdict,
    metric: r.metric,
    evidence: r.evidence,
    createdAt: iso(r.created_at),
  }));
};
