// Finding and checking the data directory template, on the side that starts the embedded server.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, sep } from "node:path";
import { z } from "zod";
import {
  copyVerifiedTemplate,
  removeTemplate,
  sha256,
  TEMPLATE_MANIFEST,
  TEMPLATE_PREFIX,
  type TemplateManifest,
} from "./embedded-template.ts";

const relativePath = z
  .string()
  .min(1)
  .refine((path) => !isAbsolute(path) && !path.includes("\\") && !path.split("/").includes(".."), {
    message: "must be a relative path inside the data directory",
  });

const manifestSchema = z.object({
  format: z.literal(1),
  pglite: z.string().min(1),
  directories: z.array(relativePath),
  files: z
    .array(
      z.object({
        path: relativePath,
        size: z.number().int().nonnegative(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    )
    .refine((files) => files.some((file) => file.path === "PG_VERSION"), {
      message: "a data directory has a PG_VERSION file",
    }),
}) satisfies z.ZodType<TemplateManifest>;

const pglitePackageRoot = (): string =>
  join(dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite")), "..");

/** The installed `@electric-sql/pglite` version: the key of its template. */
export const installedPgliteVersion = (): string => {
  const pkg: unknown = JSON.parse(readFileSync(join(pglitePackageRoot(), "package.json"), "utf8"));
  return z.object({ version: z.string().min(1) }).parse(pkg).version;
};

/**
 * Where the template for the installed PGlite lives: `node_modules/.cache/devsim/pgdata-pglite-<version>`,
 * beside the dependency it depends on (the `node_modules/.cache` convention of
 * https://github.com/sindresorhus/find-cache-dir), so an upgrade or a fresh install never meets a
 * stale one. Null when PGlite is not installed under a `node_modules`.
 */
export const defaultTemplateDir = (): string | null => {
  const segments = pglitePackageRoot().split(sep);
  const at = segments.lastIndexOf("node_modules");
  if (at < 0) return null;
  const nodeModules = segments.slice(0, at + 1).join(sep);
  return join(nodeModules, ".cache", "devsim", `${TEMPLATE_PREFIX}${installedPgliteVersion()}`);
};

/** The template's manifest, if it has one of the right shape for this PGlite, and the hash of its bytes. */
export const readTemplateManifest = (
  templateDir: string,
  pgliteVersion: string,
): { manifest: TemplateManifest; sha256: string } | null => {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(templateDir, TEMPLATE_MANIFEST));
  } catch {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    return null;
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success || parsed.data.pglite !== pgliteVersion) return null;
  return { manifest: parsed.data, sha256: sha256(bytes) };
};

/**
 * The hash of the template's manifest, for the embedded server to restore from (see
 * restoreTemplate); null when there is no usable template. A template there without a usable
 * manifest (damaged, or another PGlite version's) is removed, so the next initdb makes a good one.
 */
export const templateToRestore = (templateDir: string, pgliteVersion: string): string | null => {
  const found = readTemplateManifest(templateDir, pgliteVersion);
  if (found) return found.sha256;
  removeTemplate(templateDir);
  return null;
};

/** Whether the template is whole and serves this PGlite (reads every file). */
export const templateIsUsable = (templateDir: string, pgliteVersion: string): boolean => {
  const found = readTemplateManifest(templateDir, pgliteVersion);
  return found !== null && copyVerifiedTemplate(templateDir, found.manifest, null);
};
