import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_SCHEDULES } from "#schedule";
import { bundle, edgeOptions, lambdaOptions, type RefusedImport, typeOfExport } from "./bundle.ts";
import { bucketMarker, declaredFunctions, installSstStandIns, secretMarker } from "./sst-stand-ins.ts";

// Evaluates sst.config.ts with stand-ins for SST's globals, then checks what it declares and that
// every function it names bundles, and loads, for its runtime.

const ROOT = resolve(import.meta.dirname, "..", "..");

interface SstConfig {
  app(input: { stage: string }): { name: string; home: string; removal: string };
  run(): Promise<Record<string, unknown>>;
}

const standIns = installSstStandIns("prod");
// A computed specifier: the config is for SST's own type-check, not this project's.
const configUrl = pathToFileURL(join(ROOT, "sst.config.ts")).href;
const config = ((await import(configUrl)) as { default: SstConfig }).default;
const outputs = await config.run();
const { components } = standIns;
const functions = declaredFunctions(components);
const outdir = await mkdtemp(join(tmpdir(), "devsim-bundles-"));

afterAll(async () => {
  standIns.remove();
  await rm(outdir, { recursive: true, force: true });
});

const named = (kind: string, name: string) => components.find((c) => c.kind === kind && c.name === name);
const fn = (component: string) => functions.find((f) => f.component === component);

/** Values the secrets and the bucket stand for at deploy time, for loading the bundles. */
const DEPLOYED_VALUES: Record<string, string> = {
  [secretMarker("DatabaseUrl")]: "postgres://devsim@127.0.0.1:1/devsim",
  [secretMarker("UpstashRedisRestUrl")]: "http://127.0.0.1:1",
  [secretMarker("UpstashRedisRestToken")]: "token",
  [secretMarker("SimUrl")]: "http://127.0.0.1:1",
  [secretMarker("CloudsJson")]: "{}",
  [bucketMarker("Backups")]: "devsim-backups",
};

const deployedEnvironment = (environment: Readonly<Record<string, unknown>>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(environment).map(([key, value]) => {
      const resolved = DEPLOYED_VALUES[String(value)];
      if (resolved === undefined) throw new Error(`${key}: no deploy-time value for ${String(value)}`);
      return [key, resolved];
    }),
  );

describe("sst.config.ts", () => {
  it("names the app and keeps the production stage's resources when removed", () => {
    expect(config.app({ stage: "prod" })).toEqual({
      name: "devops-simulator",
      home: "aws",
      removal: "retain",
    });
    expect(config.app({ stage: "production" }).removal).toBe("retain");
    expect(config.app({ stage: "dev" }).removal).toBe("remove");
  });

  it("declares the API and router with URLs, the crons, the backup bucket and the secrets", () => {
    expect(components.map((c) => `${c.kind} ${c.name}`).sort()).toEqual([
      "Bucket Backups",
      "Cron Backup",
      "Cron Health",
      "Cron Reconcile",
      "Cron RestoreDrill",
      "Function Api",
      "Function Router",
      "Secret CloudsJson",
      "Secret DatabaseUrl",
      "Secret SimUrl",
      "Secret UpstashRedisRestToken",
      "Secret UpstashRedisRestUrl",
    ]);
    expect(fn("Api")?.url).toBe(true);
    expect(fn("Router")?.url).toBe(true);
    expect(outputs).toEqual({
      api: "https://api.lambda-url.test",
      router: "https://router.lambda-url.test",
      backupBucket: bucketMarker("Backups"),
    });
  });

  it("schedules the crons as DEFAULT_SCHEDULES says, and the reconciler every minute", () => {
    expect(named("Cron", "Health")?.args.schedule).toBe(DEFAULT_SCHEDULES.health.deployed);
    expect(named("Cron", "Backup")?.args.schedule).toBe(DEFAULT_SCHEDULES.backup.deployed);
    expect(named("Cron", "RestoreDrill")?.args.schedule).toBe(DEFAULT_SCHEDULES.restoreDrill.deployed);
    expect(named("Cron", "Reconcile")?.args.schedule).toBe("rate(1 minute)");
  });

  it("hands the control-plane functions Postgres and Upstash from secrets; the router gets Upstash only", () => {
    for (const component of ["Api", "Reconcile", "Health", "Backup", "RestoreDrill"]) {
      expect(fn(component)?.environment).toMatchObject({
        DATABASE_URL: secretMarker("DatabaseUrl"),
        UPSTASH_REDIS_REST_URL: secretMarker("UpstashRedisRestUrl"),
        UPSTASH_REDIS_REST_TOKEN: secretMarker("UpstashRedisRestToken"),
        DEVSIM_CLOUDS_JSON: secretMarker("CloudsJson"),
      });
    }
    expect(fn("Router")?.environment).toEqual({
      UPSTASH_REDIS_REST_URL: secretMarker("UpstashRedisRestUrl"),
      UPSTASH_REDIS_REST_TOKEN: secretMarker("UpstashRedisRestToken"),
    });
  });

  it("links the backup bucket to the backup and restore-drill functions and names it in DEVSIM_BACKUP_BUCKET", () => {
    for (const component of ["Backup", "RestoreDrill"]) {
      expect(fn(component)?.link.map((l) => (l as { name: string }).name)).toEqual([bucketMarker("Backups")]);
      expect(fn(component)?.environment.DEVSIM_BACKUP_BUCKET).toBe(bucketMarker("Backups"));
    }
    expect(fn("Api")?.link).toEqual([]);
  });
});

describe.each(functions)("the function of $component ($handler)", (f) => {
  const match = /^(functions\/[\w-]+)\.(\w+)$/.exec(f.handler);
  const entry = `${match?.[1]}.ts`;

  it("names an export of a file under functions/, and runs on nodejs24.x", () => {
    expect(match?.[2]).toBe("handler");
    expect(existsSync(join(ROOT, entry)), `${entry} exists`).toBe(true);
    expect(f.runtime).toBe("nodejs24.x");
  });

  it("bundles for Node 24 and, loaded with exactly its deployed environment, exports a function `handler`", async () => {
    const built = await bundle(entry, join(outdir, "lambda"), lambdaOptions);
    expect(built.exports).toContain("handler");
    expect(await typeOfExport(built.file, "handler", deployedEnvironment(f.environment))).toBe("function");
  });
});

describe("the router on an edge runtime", () => {
  it("bundles functions/router-edge.ts without any Node built-in, exporting `fetch` on its default", async () => {
    const refused: RefusedImport[] = [];
    const built = await bundle("functions/router-edge.ts", join(outdir, "edge"), edgeOptions(refused)).catch(
      (error: unknown) => {
        throw new Error(`the edge router needs Node: ${JSON.stringify(refused)}`, { cause: error });
      },
    );
    expect(refused).toEqual([]);
    expect(built.exports).toEqual(["default"]);
    expect(await typeOfExport(built.file, "default.fetch", {})).toBe("function");
  });

  it("refuses, naming them, the Node built-ins an entry imports", async () => {
    const refused: RefusedImport[] = [];
    const entry = join(outdir, "uses-node.ts");
    await writeFile(
      entry,
      'import { pipeline } from "node:stream/promises";\nimport os from "os";\nexport default { pipeline, os };\n',
    );
    await expect(bundle(entry, join(outdir, "refused"), edgeOptions(refused))).rejects.toThrow(
      /Node built-in/,
    );
    expect(refused.map((r) => r.specifier).sort()).toEqual(["node:stream/promises", "os"]);
  });
});
