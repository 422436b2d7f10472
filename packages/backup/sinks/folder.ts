import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BackupError } from "../errors.ts";
import { assertKey, type BackupSink } from "../sink.ts";

// Written under this suffix and renamed when complete, so a crash never leaves half an object
// under its real name; list() leaves such leftovers out.
const PARTIAL = ".partial-";

/** Keeps backups as files in `dir` (created on first write), e.g. `.devsim/backups`. */
export const folderSink = (dir: string): BackupSink => {
  const root = resolve(dir);
  const path = (key: string) => {
    assertKey(key);
    return join(root, key);
  };
  return {
    location: root,
    async put(key, body) {
      const target = path(key);
      await mkdir(root, { recursive: true });
      const partial = `${target}${PARTIAL}${randomBytes(4).toString("hex")}`;
      try {
        if (body instanceof Uint8Array) await writeFile(partial, body);
        else await pipeline(body as Readable, createWriteStream(partial));
        await rename(partial, target);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
    },
    async get(key) {
      const file = path(key);
      const stream = createReadStream(file);
      // Open before answering, so a missing object rejects here rather than mid-stream.
      await new Promise<void>((opened, failed) => {
        stream.once("open", () => opened());
        stream.once("error", (error: NodeJS.ErrnoException) =>
          failed(
            error.code === "ENOENT"
              ? new BackupError("not_found", `no backup object '${key}' in ${root}`, { cause: error })
              : error,
          ),
        );
      });
      return stream;
    },
    async list() {
      try {
        const entries = await readdir(root, { withFileTypes: true });
        return entries.filter((e) => e.isFile() && !e.name.includes(PARTIAL)).map((e) => e.name);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw error;
      }
    },
    async delete(keys) {
      for (const key of keys) await rm(path(key), { force: true });
    },
  };
};
