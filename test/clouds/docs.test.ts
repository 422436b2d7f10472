import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CloudCheck, parseCloudsConfig, simulatedClouds } from "#config";
import { renderCloudChecks } from "../../packages/cli/clouds.ts";

const README = join(import.meta.dirname, "..", "..", "docs", "clouds", "README.md");

/** The fenced blocks of one language in a Markdown text. */
const blocks = (markdown: string, language: string): string[] =>
  [...markdown.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, "gm"))].map(
    (m) => m[1] ?? "",
  );

describe("docs/clouds/README.md", () => {
  it("has only clouds files that the schemas accept, one at least for every adapter", async () => {
    const examples = blocks(await readFile(README, "utf8"), "json");
    expect(examples.length).toBeGreaterThanOrEqual(6);
    const adapters = new Set<string>();
    for (const [i, text] of examples.entries()) {
      const config = await parseCloudsConfig(text, `README json block ${i + 1}`);
      for (const setting of Object.values(config.clouds)) adapters.add(setting.adapter);
    }
    expect([...adapters].sort()).toEqual(["aks", "doks", "ecs", "gke", "sim"]);
  });

  it("configures all four clouds in its first example", async () => {
    const [first = ""] = blocks(await readFile(README, "utf8"), "json");
    expect(simulatedClouds(await parseCloudsConfig(first, "README"))).toEqual([]);
  });

  it("shows the table devsim clouds check prints", async () => {
    const ok = (cloud: CloudCheck["cloud"], adapter: CloudCheck["adapter"], target: string): CloudCheck => ({
      cloud,
      adapter,
      target,
      ok: true,
    });
    const rows: CloudCheck[] = [
      ok("aws", "ecs", "aws us-east-1 (cluster devsim)"),
      ok("azure", "aks", "azure credentials"),
      ok("azure", "aks", "azure westeurope: AKS cluster shop/aks-weu"),
      ok("azure", "aks", "azure westeurope: Kubernetes API"),
      ok("gcp", "gke", "gcp credentials"),
      ok("gcp", "gke", "gcp europe-west1: GKE cluster europe-west1/gke-euw1"),
      ok("gcp", "gke", "gcp europe-west1: Kubernetes API"),
      {
        cloud: "digitalocean",
        adapter: "doks",
        target: "digitalocean token",
        ok: false,
        problem: "digitalocean-doks check the token: HTTP 401 unauthorized: Unable to authenticate you.",
        fix:
          "Create a personal access token (API → Tokens) with the scopes kubernetes:read and " +
          "kubernetes:access_cluster (and kubernetes:update to resize node pools), and set it as DIGITALOCEAN_ACCESS_TOKEN.",
      },
    ];
    expect(await readFile(README, "utf8")).toContain(renderCloudChecks(rows));
  });
});
