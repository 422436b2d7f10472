import type { HealthCheck, SimProfile } from "./workload.ts";

/** What makes two revisions the same: equal inputs give equal hashes. */
export interface RevisionConfig {
  readonly image: string;
  readonly port: number;
  readonly healthCheck: HealthCheck;
  readonly sim: SimProfile | null;
}

/** JSON with keys sorted at every level, so equal values serialise equally. */
const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
};

/** The sha256 of a revision's configuration, hex encoded. Web Crypto only, so it runs anywhere. */
export const configHash = async (config: RevisionConfig): Promise<string> => {
  const bytes = new TextEncoder().encode(canonicalJson(config));
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
};
