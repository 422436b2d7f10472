import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { saveTemplate, sha256, TEMPLATE_MANIFEST, type TemplateManifest } from "./embedded-template.ts";
import {
  defaultTemplateDir,
  installedPgliteVersion,
  readTemplateManifest,
  templateIsUsable,
  templateToRestore,
} from "./embedded-template-manifest.ts";

const VERSION = "1.2.3";

describe("template manifests", () => {
  let root: string;
  let templateDir: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "devsim-template-manifest-"));
    templateDir = join(root, `pgdata-pglite-${VERSION}`);
    const files = new Map([
      ["PG_VERSION", Buffer.from("17\n")],
      ["base/1/1259", Buffer.from("relation")],
    ]);
    saveTemplate({ directories: ["base", "base/1", "pg_notify"], files }, templateDir, VERSION);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const manifestPath = () => join(templateDir, TEMPLATE_MANIFEST);
  /** Rewrites the manifest with some fields replaced. */
  const rewrite = async (change: (manifest: TemplateManifest) => Record<string, unknown>) => {
    const manifest = JSON.parse(await readFile(manifestPath(), "utf8")) as TemplateManifest;
    await writeFile(manifestPath(), JSON.stringify({ ...manifest, ...change(manifest) }));
  };

  it("reads a template's manifest and the hash of its bytes; the template checks out", async () => {
    const found = readTemplateManifest(templateDir, VERSION);
    expect(found?.manifest).toEqual({
      format: 1,
      pglite: VERSION,
      directories: ["base", "base/1", "pg_notify"],
      files: [
        { path: "PG_VERSION", size: 3, sha256: sha256(Buffer.from("17\n")) },
        { path: "base/1/1259", size: 8, sha256: sha256(Buffer.from("relation")) },
      ],
    });
    expect(found?.sha256).toBe(sha256(await readFile(manifestPath())));
    expect(templateToRestore(templateDir, VERSION)).toBe(found?.sha256);
    expect(templateIsUsable(templateDir, VERSION)).toBe(true);
  });

  const unusable: [string, () => Promise<void>][] = [
    ["another PGlite version's", () => rewrite(() => ({ pglite: "1.2.4" }))],
    ["without a manifest", () => rm(manifestPath())],
    ["with a manifest that is not JSON", () => writeFile(manifestPath(), "{ nope")],
    ["with a manifest of another format", () => rewrite(() => ({ format: 2 }))],
    ["with a manifest of another shape", () => writeFile(manifestPath(), JSON.stringify({ format: 1 }))],
    ["without PG_VERSION", () => rewrite((m) => ({ files: m.files.slice(1) }))],
    ["pointing outside the data directory", () => rewrite(() => ({ directories: ["../escaped"] }))],
    ["with an absolute path", () => rewrite(() => ({ directories: ["/etc"] }))],
    ["with a bad checksum", () => rewrite((m) => ({ files: m.files.map((f) => ({ ...f, sha256: "abc" })) }))],
  ];
  it.each(unusable)("ignores and removes a template %s", async (_, damage) => {
    await damage();
    expect(readTemplateManifest(templateDir, VERSION)).toBeNull();
    expect(templateIsUsable(templateDir, VERSION)).toBe(false);
    expect(templateToRestore(templateDir, VERSION)).toBeNull();
    expect(existsSync(templateDir)).toBe(false);
  });

  it("finds a damaged file only by reading every file", async () => {
    await writeFile(join(templateDir, "base", "1", "1259"), "relatioN");
    expect(templateIsUsable(templateDir, VERSION)).toBe(false);
    // The manifest itself is fine: the server's restore reads the files and finds the damage.
    expect(templateToRestore(templateDir, VERSION)).toEqual(expect.any(String));
  });

  it("has nothing to restore where there is no template, and makes nothing there", async () => {
    const nowhere = join(root, "nowhere", "pgdata-pglite-1.2.3");
    expect(templateToRestore(nowhere, VERSION)).toBeNull();
    expect(existsSync(join(root, "nowhere"))).toBe(false);
    await mkdir(nowhere, { recursive: true });
    expect(templateIsUsable(nowhere, VERSION)).toBe(false);
  });

  it("keys the default template by the installed PGlite version, under node_modules/.cache", async () => {
    const modules = join(import.meta.dirname, "..", "..", "node_modules");
    const pkg = JSON.parse(await readFile(join(modules, "@electric-sql", "pglite", "package.json"), "utf8"));
    expect(installedPgliteVersion()).toBe(pkg.version);
    expect(defaultTemplateDir()).toBe(join(modules, ".cache", "devsim", `pgdata-pglite-${pkg.version}`));
  });
});
