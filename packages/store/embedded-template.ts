// A template of a freshly initialised PGlite data directory. initdb inside wasm takes seconds;
// copying its result takes a fraction of that, so a first start copies the template instead.
// This part runs in the embedded server process; embedded-template-manifest.ts reads and checks
// manifests in the parent, which has zod loaded anyway (here it would cost 11 MB and 80 ms).
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";

/** Lies inside the template, beside the files; never copied into a data directory. */
export const TEMPLATE_MANIFEST = "devsim-template.json";
export const TEMPLATE_PREFIX = "pgdata-pglite-";

/** What a template holds, each file with its size and SHA-256; paths relative and `/`-separated. */
export interface TemplateManifest {
  readonly format: 1;
  /** A template only serves the PGlite version that made it: the on-disk format is the wasm build's. */
  readonly pglite: string;
  readonly directories: readonly string[];
  readonly files: readonly { readonly path: string; readonly size: number; readonly sha256: string }[];
}

/** A data directory read into memory: directories and files by path relative to it, `/`-separated. */
export interface DataDirSnapshot {
  readonly directories: readonly string[];
  readonly files: ReadonlyMap<string, Buffer>;
}

export const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** Reads a closed data directory into memory, so it can be saved after others start using it. */
export const snapshotDataDir = (dataDir: string): DataDirSnapshot => {
  const directories: string[] = [];
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(dataDir, { recursive: true, withFileTypes: true })) {
    const path = relative(dataDir, join(entry.parentPath, entry.name)).split(sep).join("/");
    if (entry.isDirectory()) directories.push(path);
    else if (entry.isFile()) files.set(path, readFileSync(join(dataDir, path)));
    else
      throw new Error(`${join(dataDir, path)}: a data directory template holds only files and directories`);
  }
  return { directories: directories.sort(), files };
};

/** Whether process `pid` still runs (EPERM: it does, as another user). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Drops templates of other PGlite versions and half-written ones whose writer died. */
const pruneSiblings = (templateDir: string): void => {
  const parent = dirname(templateDir);
  const own = basename(templateDir);
  for (const name of readdirSync(parent)) {
    const partial = /^(.+)\.(\d+)\.partial$/.exec(name);
    const stale = partial
      ? partial[1] === own && !isAlive(Number(partial[2]))
      : name.startsWith(TEMPLATE_PREFIX) && name !== own;
    if (stale) rmSync(join(parent, name), { recursive: true, force: true });
  }
};

/**
 * Saves a freshly initialised, cleanly closed data directory as the template. Written beside and
 * renamed into place, so readers see a whole template or none; if another process got there
 * first, theirs stays. Returns whether this call made it.
 */
export const saveTemplate = (
  snapshot: DataDirSnapshot,
  templateDir: string,
  pgliteVersion: string,
): boolean => {
  mkdirSync(dirname(templateDir), { recursive: true });
  pruneSiblings(templateDir);
  if (existsSync(templateDir)) return false;
  const staging = `${templateDir}.${process.pid}.partial`;
  rmSync(staging, { recursive: true, force: true });
  try {
    mkdirSync(staging);
    for (const directory of snapshot.directories) mkdirSync(join(staging, directory), { recursive: true });
    const files: TemplateManifest["files"][number][] = [];
    for (const [path, data] of snapshot.files) {
      writeFileSync(join(staging, path), data);
      files.push({ path, size: data.byteLength, sha256: sha256(data) });
    }
    const manifest: TemplateManifest = {
      format: 1,
      pglite: pgliteVersion,
      directories: snapshot.directories,
      files,
    };
    writeFileSync(join(staging, TEMPLATE_MANIFEST), JSON.stringify(manifest));
    renameSync(staging, templateDir);
    return true;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") return false;
    throw error;
  }
};

/** Removes an unusable template; one that cannot be removed (a read-only cache) is only not used. */
export const removeTemplate = (templateDir: string): void => {
  try {
    rmSync(templateDir, { recursive: true, force: true });
  } catch {}
};

const CHUNK_BYTES = 1 << 20;

/** Reads one template file in chunks, copying it to `to` if given; whether it matches its entry. */
const copyVerifiedFile = (
  from: string,
  to: string | null,
  file: TemplateManifest["files"][number],
  chunk: Buffer,
): boolean => {
  let source: number;
  try {
    source = openSync(from, "r");
  } catch {
    return false;
  }
  const target = to === null ? null : openSync(to, "wx");
  try {
    if (fstatSync(source).size !== file.size) return false;
    const hash = createHash("sha256");
    let done = 0;
    while (done < file.size) {
      const n = readSync(source, chunk, 0, Math.min(chunk.byteLength, file.size - done), done);
      if (n === 0) return false;
      hash.update(chunk.subarray(0, n));
      if (target !== null) writeSync(target, chunk, 0, n, done);
      done += n;
    }
    return hash.digest("hex") === file.sha256;
  } finally {
    closeSync(source);
    if (target !== null) closeSync(target);
  }
};

/**
 * Checks every file of the template against its manifest, copying each into `into` if given;
 * false at the first that differs. One small buffer: the server process keeps no garbage of it.
 */
export const copyVerifiedTemplate = (
  templateDir: string,
  manifest: TemplateManifest,
  into: string | null,
): boolean => {
  if (into !== null)
    for (const directory of manifest.directories) mkdirSync(join(into, directory), { recursive: true });
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  return manifest.files.every((file) =>
    copyVerifiedFile(join(templateDir, file.path), into === null ? null : join(into, file.path), file, chunk),
  );
};

/**
 * Fills the empty data directory `dataDir` from the template, whose manifest the caller has
 * validated: `manifestSha256` is the hash of the bytes it validated. False, leaving `dataDir` as
 * it was, when `dataDir` is not empty, when the manifest is no longer the one validated, or when a
 * file is damaged; a damaged template is removed, so the next initdb makes a good one.
 */
export const restoreTemplate = (templateDir: string, manifestSha256: string, dataDir: string): boolean => {
  if (readdirSync(dataDir).length > 0) return false;
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(templateDir, TEMPLATE_MANIFEST));
  } catch {
    return false;
  }
  if (sha256(bytes) !== manifestSha256) return false;
  // The very bytes the caller validated (embedded-template-manifest.ts), so of that shape.
  const manifest = JSON.parse(bytes.toString("utf8")) as TemplateManifest;
  // Copied beside and renamed into place: an interrupted copy never looks like a data directory.
  const staging = `${dataDir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    if (!copyVerifiedTemplate(templateDir, manifest, staging)) {
      removeTemplate(templateDir);
      return false;
    }
    rmdirSync(dataDir);
    renameSync(staging, dataDir);
    return true;
  } finally {
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
  }
};
