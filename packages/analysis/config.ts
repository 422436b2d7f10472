import { AnalysisSettings, MixtureSettings } from "#core";

/**
 * How a canary is judged. The schema is the domain's (core validates it where a strategy is
 * written); the names here are the ones the judges speak.
 */
export const AnalysisConfig = AnalysisSettings;
export type AnalysisConfig = AnalysisSettings;
export type AnalysisConfigInput = import("zod").input<typeof AnalysisSettings>;

/** How the mixtures of the sequential tests are tuned; see `MixtureSettings` in core. */
export const MixtureConfig = MixtureSettings;
export type MixtureConfig = MixtureSettings;

export const DEFAULT_ANALYSIS_CONFIG: AnalysisConfig = AnalysisConfig.parse({});
