import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectDatabase, startEmbeddedPostgres } from "#store";

/** A throwaway database for a restore drill. */
export interface ScratchDatabase {
  readonly url: string;
  /** Removes the database and everything in it. Idempotent. */
  drop(): Promise<void>;
}

export type ScratchFactory = () => Promise<ScratchDatabase>;

/**
 * Scratch databases created on a Postgres server (`CREATE DATABASE devsim_drill_…`) and dropped
 * afterwards. `serverUrl` is any database of that server whose user may create databases; only
 * the database the factory created is ever dropped.
 */
export const scratchOnServer =
  (serverUrl: string): ScratchFactory =>
  async () => {
    const name = `devsim_drill_${randomBytes(6).toString("hex")}`;
    const admin = connectDatabase(serverUrl, { max: 1, applicationName: "devsim-drill" });
    try {
      await admin`CREATE DATABASE ${admin(name)}`;
    } catch (error) {
      await admin.end({ timeout: 5 });
      throw error;
    }
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    let dropped: Promise<void> | undefined;
    return {
      url: url.href,
      drop: () => {
        dropped ??= (async () => {
          try {
            await admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`;
          } finally {
            await admin.end({ timeout: 5 });
          }
        })();
        return dropped;
      },
    };
  };

/**
 * Scratch databases in an embedded Postgres of their own, in a temporary folder: for a control
 * plane on the embedded default, which serves a single database.
 */
export const scratchEmbedded =
  (parent: string = tmpdir()): ScratchFactory =>
  async () => {
    const dir = await mkdtemp(join(parent, "devsim-drill-"));
    try {
      const server = await startEmbeddedPostgres({ dataDir: join(dir, "pgdata") });
      let dropped: Promise<void> | undefined;
      return {
        url: server.url,
        drop: () => {
          dropped ??= server.close().finally(() => rm(dir, { recursive: true, force: true }));
          return dropped;
        },
      };
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  };
