import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restoreTemplate } from "./embedded-template.ts";
import { makeTemplate } from "./embedded-template-make.ts";
import {
  installedPgliteVersion,
  readTemplateManifest,
  templateIsUsable,
} from "./embedded-template-manifest.ts";

describe("makeTemplate", () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "devsim-template-make-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("makes a template by initdb once, keeps a usable one, and replaces a damaged one", async () => {
    const pglite = installedPgliteVersion();
    const templateDir = join(root, "cache", `pgdata-pglite-${pglite}`);
    expect(await makeTemplate(templateDir)).toBe("made");
    expect(templateIsUsable(templateDir, pglite)).toBe(true);
    const dataDir = join(root, "pgdata");
    await mkdir(dataDir);
    const found = readTemplateManifest(templateDir, pglite);
    expect(restoreTemplate(templateDir, found?.sha256 ?? "", dataDir)).toBe(true);
    expect(await readdir(dataDir)).toEqual(
      expect.arrayContaining(["PG_VERSION", "base", "global", "pg_wal"]),
    );

    expect(await makeTemplate(templateDir)).toBe("present");

    await writeFile(join(templateDir, "PG_VERSION"), "99\n");
    expect(await makeTemplate(templateDir)).toBe("made");
    expect(templateIsUsable(templateDir, pglite)).toBe(true);
    // Its scratch data directory is gone; only the template is left in the cache.
    expect(await readdir(join(root, "cache"))).toEqual([`pgdata-pglite-${pglite}`]);
  }, 90_000);
});
