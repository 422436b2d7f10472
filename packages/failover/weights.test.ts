import { describe, expect, it } from "vitest";
import type { Cloud } from "#core";
import { cloudPreference, effectiveWeights, type RolloutBackend, type TargetTraffic } from "./weights.ts";

const b = (cloud: Cloud, region: string, weight: number, replicas = 1, revision = 1): RolloutBackend => ({
  cloud,
  region,
  revision,
  weight,
  replicas,
});
const at = (cloud: Cloud, region: string, percent: number): TargetTraffic => ({ cloud, region, percent });
const sameCloud = { sameCloudFirst: true, cloudOrder: [] };

/** Effective weight per `cloud/region/revision`, rounded to hundredths. */
const table = (backends: readonly RolloutBackend[]) =>
  Object.fromEntries(
    backends.map((x) => [`${x.cloud}/${x.region}/${x.revision}`, Math.round(x.weight * 100) / 100]),
  );

// Two AWS regions and GCP; capacity follows replicas (2, 2, 4).
const three = [b("aws", "us-east-1", 25, 2), b("aws", "eu-west-1", 25, 2), b("gcp", "us-central1", 50, 4)];
const threeTargets = three.map(({ cloud, region }) => ({ cloud, region }));

describe("effectiveWeights", () => {
  it("leaves the rollout's weights alone when every target serves", () => {
    const out = effectiveWeights({ backends: three, traffic: [], policy: sameCloud, targets: threeTargets });
    expect(out.backends).toEqual(three);
    expect(out).toMatchObject({ moves: [], allDown: false });
    expect(out.shares.map((s) => [s.normal, s.effective])).toEqual([
      [25, 25],
      [25, 25],
      [50, 50],
    ]);
  });

  it("moves a failed target's share to the healthy target of its own cloud first", () => {
    const out = effectiveWeights({
      backends: three,
      traffic: [at("aws", "us-east-1", 0)],
      policy: sameCloud,
      targets: threeTargets,
    });
    expect(table(out.backends)).toEqual({ "aws/eu-west-1/1": 50, "gcp/us-central1/1": 50 });
    expect(out.moves).toEqual([
      { from: { cloud: "aws", region: "us-east-1" }, to: { cloud: "aws", region: "eu-west-1" }, weight: 25 },
    ]);
  });

  it("without sameCloudFirst follows the cloud order", () => {
    const out = effectiveWeights({
      backends: three,
      traffic: [at("aws", "us-east-1", 0)],
      policy: { sameCloudFirst: false, cloudOrder: ["gcp"] },
      targets: threeTargets,
    });
    expect(table(out.backends)).toEqual({ "aws/eu-west-1/1": 25, "gcp/us-central1/1": 75 });
  });

  it("without sameCloudFirst and no cloud order, the targets' order decides, own cloud included", () => {
    const out = effectiveWeights({
      backends: three,
      traffic: [at("aws", "us-east-1", 0)],
      policy: { sameCloudFirst: false, cloudOrder: [] },
      targets: threeTargets,
    });
    expect(table(out.backends)).toEqual({ "aws/eu-west-1/1": 50, "gcp/us-central1/1": 50 });
  });

  it("survives a whole cloud: both AWS regions' share goes to the next cloud", () => {
    const out = effectiveWeights({
      backends: three,
      traffic: [at("aws", "us-east-1", 0), at("aws", "eu-west-1", 0)],
      policy: sameCloud,
      targets: threeTargets,
    });
    expect(table(out.backends)).toEqual({ "gcp/us-central1/1": 100 });
    expect(out.allDown).toBe(false);
    expect(out.moves.map((m) => [m.from.region, m.to.region, m.weight])).toEqual([
      ["us-east-1", "us-central1", 25],
      ["eu-west-1", "us-central1", 25],
    ]);
  });

  it("takes the first cloud in the order that has a healthy target, and splits by capacity inside it", () => {
    const backends = [
      b("aws", "us-east-1", 40, 4),
      b("azure", "eastus", 20, 1),
      b("gcp", "us-central1", 20, 1),
      b("gcp", "europe-west1", 20, 3),
    ];
    const out = effectiveWeights({
      backends,
      traffic: [at("aws", "us-east-1", 0)],
      policy: { sameCloudFirst: true, cloudOrder: ["gcp", "azure"] },
      targets: backends,
    });
    // gcp before azure; 40 split 1:3 between the gcp targets.
    expect(table(out.backends)).toEqual({
      "azure/eastus/1": 20,
      "gcp/us-central1/1": 30,
      "gcp/europe-west1/1": 50,
    });
  });

  it("keeps each target's revision split: a receiving canary target and a failed one", () => {
    const backends = [
      b("aws", "us-east-1", 15, 2, 1),
      b("aws", "us-east-1", 10, 1, 2),
      b("aws", "eu-west-1", 25, 3, 1),
      b("gcp", "us-central1", 50, 3, 1),
    ];
    const receiving = effectiveWeights({
      backends,
      traffic: [at("aws", "eu-west-1", 0)],
      policy: sameCloud,
      targets: backends,
    });
    // us-east-1 doubles (25 → 50), canary 10/25 of it as before.
    expect(table(receiving.backends)).toEqual({
      "aws/us-east-1/1": 30,
      "aws/us-east-1/2": 20,
      "gcp/us-central1/1": 50,
    });
    const failing = effectiveWeights({
      backends,
      traffic: [at("aws", "us-east-1", 0)],
      policy: sameCloud,
      targets: backends,
    });
    expect(table(failing.backends)).toEqual({ "aws/eu-west-1/1": 50, "gcp/us-central1/1": 50 });
  });

  it("a recovering target keeps its step's part of its share; the rest stays with the receivers", () => {
    const out = effectiveWeights({
      backends: three,
      traffic: [at("aws", "us-east-1", 25)],
      policy: sameCloud,
      targets: threeTargets,
    });
    expect(table(out.backends)).toEqual({
      "aws/us-east-1/1": 6.25,
      "aws/eu-west-1/1": 43.75,
      "gcp/us-central1/1": 50,
    });
  });

  it("keeps the table as it is when every target is down", () => {
    const out = effectiveWeights({
      backends: three,
      traffic: threeTargets.map((t) => ({ ...t, percent: 0 })),
      policy: sameCloud,
      targets: threeTargets,
    });
    expect(out).toMatchObject({ allDown: true, moves: [], backends: three });
  });

  it("keeps a single target's table when it fails, as there is nowhere else to go", () => {
    const one = [b("aws", "us-east-1", 100)];
    const out = effectiveWeights({
      backends: one,
      traffic: [at("aws", "us-east-1", 0)],
      policy: sameCloud,
      targets: one,
    });
    expect(out).toMatchObject({ allDown: true, backends: one });
  });

  it("gives nothing to a target without weight (a canary wave not there yet)", () => {
    const backends = [b("aws", "us-east-1", 50), b("aws", "eu-west-1", 0, 5), b("gcp", "us-central1", 50)];
    const out = effectiveWeights({
      backends,
      traffic: [at("aws", "us-east-1", 0)],
      policy: sameCloud,
      targets: backends,
    });
    expect(table(out.backends)).toEqual({ "gcp/us-central1/1": 100 });
    // And a target without weight that fails takes nothing away; every other target with weight down is all down.
    const zeroDown = effectiveWeights({
      backends,
      traffic: [at("aws", "eu-west-1", 0)],
      policy: sameCloud,
      targets: backends,
    });
    expect(table(zeroDown.backends)).toEqual({ "aws/us-east-1/1": 50, "gcp/us-central1/1": 50 });
    expect(zeroDown.allDown).toBe(false);
  });

  it("leaves a share unplaced when no target serves its full share, and routers spread it", () => {
    const out = effectiveWeights({
      backends: three,
      traffic: [at("aws", "us-east-1", 0), at("aws", "eu-west-1", 50), at("gcp", "us-central1", 0)],
      policy: sameCloud,
      targets: threeTargets,
    });
    expect(out.allDown).toBe(false);
    expect(out.moves).toEqual([]);
    expect(table(out.backends)).toEqual({ "aws/eu-west-1/1": 12.5 });
  });

  it("ignores traffic for targets it does not know and clamps percents", () => {
    const out = effectiveWeights({
      backends: three,
      traffic: [at("azure", "eastus", 0), at("gcp", "us-central1", 150)],
      policy: sameCloud,
      targets: threeTargets,
    });
    expect(out.backends).toEqual(three);
  });

  it("an empty table stays empty", () => {
    expect(effectiveWeights({ backends: [], traffic: [], policy: sameCloud, targets: [] })).toEqual({
      backends: [],
      moves: [],
      allDown: false,
      shares: [],
    });
  });
});

describe("effectiveWeights on every mix of four targets", () => {
  type Spec = "none" | 0 | 25 | 100;
  const places: readonly [Cloud, string][] = [
    ["aws", "a"],
    ["aws", "b"],
    ["gcp", "c"],
    ["azure", "d"],
  ];
  const specs: readonly Spec[] = ["none", 0, 25, 100];
  const cases = function* () {
    for (let code = 0; code < 4 ** 4; code++) {
      const percents = places.map((_, i) => specs[Math.floor(code / 4 ** i) % 4] ?? "none");
      for (let r = 0; r < 16; r++) {
        const replicas = places.map((_, i) => ((r >> i) & 1 ? 3 : 1));
        for (const sameCloudFirst of [true, false]) {
          for (const cloudOrder of [[], ["gcp", "azure"]] as Cloud[][]) {
            yield { percents, replicas, sameCloudFirst, cloudOrder };
          }
        }
      }
    }
  };

  it("keeps its promises", () => {
    let checked = 0;
    for (const { percents, replicas, sameCloudFirst, cloudOrder } of cases()) {
      // A canary in the first target: 40/60 of its 10 + replicas[0] * 10.
      const backends: RolloutBackend[] = places.flatMap(([cloud, region], i) => {
        const weight = percents[i] === "none" ? 0 : 10 * (i + 1);
        const reps = replicas[i] ?? 1;
        return i === 0
          ? [b(cloud, region, weight * 0.6, reps, 1), b(cloud, region, weight * 0.4, 1, 2)]
          : [b(cloud, region, weight, reps)];
      });
      const traffic = places.flatMap(([cloud, region], i) => {
        const p = percents[i];
        return p === undefined || p === "none" || p === 100 ? [] : [at(cloud, region, p)];
      });
      const policy = { sameCloudFirst, cloudOrder };
      const out = effectiveWeights({ backends, traffic, policy, targets: backends });
      const context = JSON.stringify({ percents, replicas, policy });
      const weighted = places.filter((_, i) => percents[i] !== "none");
      const percentOf = (region: string) => percents[places.findIndex(([, r]) => r === region)];
      const sum = (xs: readonly RolloutBackend[]) => xs.reduce((s, x) => s + x.weight, 0);

      const allDown = weighted.length > 0 && weighted.every(([, r]) => percentOf(r) === 0);
      expect(out.allDown, context).toBe(allDown);
      if (allDown) {
        expect(out.backends, context).toEqual(backends.filter((x) => x.weight > 0));
        checked++;
        continue;
      }
      // Failed targets get nothing.
      for (const x of out.backends) expect(percentOf(x.region), context).not.toBe(0);
      // Every move lands on a target at its full share, of the right cloud.
      const receivers = weighted.filter(([, r]) => percentOf(r) === 100);
      const preference = cloudPreference(cloudOrder, backends);
      for (const m of out.moves) {
        expect(percentOf(m.to.region), context).toBe(100);
        const own = m.from.cloud;
        const tiers = sameCloudFirst ? [own, ...preference.filter((c) => c !== own)] : preference;
        expect(m.to.cloud, context).toBe(tiers.find((c) => receivers.some(([rc]) => rc === c)));
      }
      // Nothing is lost while someone can take it; otherwise only the missing shares are.
      const missing = places.reduce((s, [, region], i) => {
        const p = percents[i];
        const normal = sum(backends.filter((x) => x.region === region));
        return p === undefined || p === "none" || p === 100 ? s : s + (normal * (100 - p)) / 100;
      }, 0);
      const expectedTotal = sum(backends) - (receivers.length > 0 ? 0 : missing);
      expect(sum(out.backends), context).toBeCloseTo(expectedTotal, 4);
      expect(
        out.moves.reduce((s, m) => s + m.weight, 0),
        context,
      ).toBeCloseTo(receivers.length > 0 ? missing : 0, 4);
      // The canary keeps 40 % of its target.
      const first = out.backends.filter((x) => x.region === "a");
      if (first.length === 2) expect((first[1]?.weight ?? 0) / sum(first), context).toBeCloseTo(0.4, 4);
      checked++;
    }
    expect(checked).toBe(4 ** 4 * 16 * 4);
  });
});

describe("cloudPreference", () => {
  it("puts the named clouds first, then the targets' clouds in order, each once", () => {
    const targets = [
      { cloud: "aws" as const, region: "a" },
      { cloud: "gcp" as const, region: "b" },
      { cloud: "aws" as const, region: "c" },
      { cloud: "digitalocean" as const, region: "d" },
    ];
    expect(cloudPreference([], targets)).toEqual(["aws", "gcp", "digitalocean"]);
    expect(cloudPreference(["digitalocean", "azure"], targets)).toEqual([
      "digitalocean",
      "azure",
      "aws",
      "gcp",
    ]);
  });
});
