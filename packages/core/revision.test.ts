import { describe, expect, it } from "vitest";
import { configHash, type RevisionConfig } from "./revision.ts";

const config: RevisionConfig = {
  image: "app:1",
  port: 8080,
  healthCheck: { path: "/healthz" },
  sim: { errorRate: 0, latencyMs: 10, ready: true },
};

describe("configHash", () => {
  it("is a sha256 in hex", async () => {
    expect(await configHash(config)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("does not depend on key order", async () => {
    const reordered: RevisionConfig = {
      sim: { ready: true, latencyMs: 10, errorRate: 0 },
      healthCheck: { path: "/healthz" },
      port: 8080,
      image: "app:1",
    };
    expect(await configHash(reordered)).toBe(await configHash(config));
  });

  it("changes with every field", async () => {
    const base = await configHash(config);
    const variants: RevisionConfig[] = [
      { ...config, image: "app:2" },
      { ...config, port: 8081 },
      { ...config, healthCheck: { path: "/ready" } },
      { ...config, sim: null },
      { ...config, sim: { errorRate: 0.1, latencyMs: 10, ready: true } },
    ];
    const hashes = await Promise.all(variants.map(configHash));
    expect(new Set([base, ...hashes]).size).toBe(variants.length + 1);
  });
});
