import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { restoreTemplate, saveTemplate, snapshotDataDir, TEMPLATE_MANIFEST } from "./embedded-template.ts";
import { readTemplateManifest } from "./embedded-template-manifest.ts";

const VERSION = "1.2.3";

/** Every directory and file under `root`, with file contents: a tree to compare. */
const tree = async (root: string): Promise<Record<string, string | null>> => {
  const out: Record<string, string | null> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name).slice(root.length + 1);
    out[path] = entry.isDirectory() ? null : await readFile(join(root, path), "utf8");
  }
  return out;
};

describe("data directory templates", () => {
  let root: string;
  let source: string;
  let templateDir: string;
  let dataDir: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "devsim-template-"));
    // Shaped like a data directory: nested and empty directories, files, PG_VERSION.
    source = join(root, "initialised");
    await mkdir(join(source, "base", "1"), { recursive: true });
    await mkdir(join(source, "pg_notify"));
    await writeFile(join(source, "PG_VERSION"), "17\n");
    // Bigger than the copy's buffer, so it is copied in several pieces.
    await writeFile(join(source, "base", "1", "1259"), "0123456789".repeat(250_000));
    await writeFile(join(source, "postgresql.conf"), "# settings\n");
    templateDir = join(root, "cache", "devsim", `pgdata-pglite-${VERSION}`);
    dataDir = join(root, "pgdata");
    await mkdir(dataDir);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const save = () => saveTemplate(snapshotDataDir(source), templateDir, VERSION);
  /** Restores as the embedded server does, with the manifest as the parent validated it. */
  const restore = (into = dataDir) => {
    const found = readTemplateManifest(templateDir, VERSION);
    if (!found) throw new Error("no usable manifest");
    return restoreTemplate(templateDir, found.sha256, into);
  };

  it("saves a data directory and restores an identical one, without the manifest", async () => {
    expect(save()).toBe(true);
    expect(restore()).toBe(true);
    expect(await tree(dataDir)).toEqual(await tree(source));
    expect(await tree(dataDir)).toHaveProperty("pg_notify", null);
    expect(existsSync(join(dataDir, TEMPLATE_MANIFEST))).toBe(false);
    // Nothing half-made is left beside either.
    expect((await readdir(root)).sort()).toEqual(["cache", "initialised", "pgdata"]);
    expect(await readdir(join(root, "cache", "devsim"))).toEqual([`pgdata-pglite-${VERSION}`]);
    // The template serves any number of data directories.
    const second = join(root, "second");
    await mkdir(second);
    expect(restore(second)).toBe(true);
    expect(await tree(second)).toEqual(await tree(source));
  });

  it("keeps the template that is there when another process saved one first", async () => {
    expect(save()).toBe(true);
    await writeFile(join(source, "PG_VERSION"), "18\n");
    expect(save()).toBe(false);
    expect(restore()).toBe(true);
    expect(await readFile(join(dataDir, "PG_VERSION"), "utf8")).toBe("17\n");
  });

  it("leaves a data directory that is not empty alone", async () => {
    save();
    await writeFile(join(dataDir, "notes"), "mine");
    expect(restore()).toBe(false);
    expect(await readdir(dataDir)).toEqual(["notes"]);
    expect(restore(join(root, "cache"))).toBe(false);
    expect(existsSync(templateDir)).toBe(true);
  });

  it("restores nothing when the manifest is no longer the one validated, and keeps the template", async () => {
    save();
    const found = readTemplateManifest(templateDir, VERSION);
    await writeFile(
      join(templateDir, TEMPLATE_MANIFEST),
      `${await readFile(join(templateDir, TEMPLATE_MANIFEST))} `,
    );
    expect(restoreTemplate(templateDir, found?.sha256 ?? "", dataDir)).toBe(false);
    await rm(join(templateDir, TEMPLATE_MANIFEST));
    expect(restoreTemplate(templateDir, found?.sha256 ?? "", dataDir)).toBe(false);
    expect(await readdir(dataDir)).toEqual([]);
    expect(existsSync(templateDir)).toBe(true);
  });

  const damages: [string, () => Promise<void>][] = [
    ["a file's bytes changed", () => writeFile(join(templateDir, "PG_VERSION"), "16\n")],
    [
      "a file's bytes changed past the first piece",
      () => writeFile(join(templateDir, "base", "1", "1259"), `${"0123456789".repeat(249_999)}0123456780`),
    ],
    ["a file cut short", () => writeFile(join(templateDir, "base", "1", "1259"), "x".repeat(8_192))],
    ["a file missing", () => rm(join(templateDir, "postgresql.conf"))],
  ];
  it.each(damages)("falls back, leaving no trace, and drops a damaged template: %s", async (_, damage) => {
    save();
    await damage();
    expect(restore()).toBe(false);
    expect(await readdir(dataDir)).toEqual([]);
    expect((await readdir(root)).sort()).toEqual(["cache", "initialised", "pgdata"]);
    expect(existsSync(templateDir)).toBe(false);
    // The next save makes a good one again.
    expect(save()).toBe(true);
    expect(restore()).toBe(true);
  });

  it("drops other versions' templates and half-written ones of dead writers when it saves", async () => {
    const cache = join(root, "cache", "devsim");
    await mkdir(join(cache, "pgdata-pglite-1.0.0"), { recursive: true });
    await mkdir(join(cache, `pgdata-pglite-${VERSION}.999999999.partial`));
    // A live writer's: our parent process stands in for it.
    await mkdir(join(cache, `pgdata-pglite-${VERSION}.${process.ppid}.partial`));
    await mkdir(join(cache, "unrelated"));
    expect(save()).toBe(true);
    expect((await readdir(cache)).sort()).toEqual(
      [`pgdata-pglite-${VERSION}`, `pgdata-pglite-${VERSION}.${process.ppid}.partial`, "unrelated"].sort(),
    );
  });

  it("refuses to snapshot a data directory holding anything but files and directories", async () => {
    await symlink(join(source, "PG_VERSION"), join(source, "link"));
    expect(() => snapshotDataDir(source)).toThrow(/only files and directories/);
  });
});
