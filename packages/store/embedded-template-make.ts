// Makes the template of a fresh embedded data directory ahead of time (an install step):
// `node packages/store/embedded-template-make.ts`. Without it, the first start makes it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDataDir } from "./embedded-server.ts";
import { saveTemplate, snapshotDataDir } from "./embedded-template.ts";
import {
  defaultTemplateDir,
  installedPgliteVersion,
  templateIsUsable,
} from "./embedded-template-manifest.ts";

/** Runs initdb once and saves the result as the template, unless a usable one is there already. */
export const makeTemplate = async (templateDir: string): Promise<"made" | "present"> => {
  const pglite = installedPgliteVersion();
  if (templateIsUsable(templateDir, pglite)) return "present";
  await rm(templateDir, { recursive: true, force: true });
  const scratch = await mkdtemp(join(tmpdir(), "devsim-initdb-"));
  try {
    const dataDir = join(scratch, "pgdata");
    const db = await openDataDir(dataDir);
    await db.close();
    return saveTemplate(snapshotDataDir(dataDir), templateDir, pglite) ? "made" : "present";
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
};

if (import.meta.main) {
  const templateDir = defaultTemplateDir();
  if (templateDir === null) {
    console.log("devsim: PGlite is not installed under node_modules; no data directory template");
  } else {
    const started = Date.now();
    const result = await makeTemplate(templateDir);
    console.log(`devsim: data directory template ${result} in ${Date.now() - started} ms: ${templateDir}`);
  }
}
