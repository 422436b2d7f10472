import { text } from "node:stream/consumers";
import { BackupError } from "./errors.ts";
import { isBackupId, parseBackupId } from "./id.ts";
import { archiveKey, type Manifest, manifestKey, parseKey, parseManifest } from "./manifest.ts";
import { DEFAULT_RETENTION, planRetention, type RetentionPolicy } from "./retention.ts";
import type { BackupSink } from "./sink.ts";

/** Reads and checks a backup's manifest; BackupError `not_found` when there is no such backup. */
export const readManifest = async (sink: BackupSink, id: string): Promise<Manifest> => {
  if (!isBackupId(id)) {
    throw new BackupError(
      "not_found",
      `'${id}' is not a backup id (they look like 2026-11-22T17-40-00Z-3f9a1c)`,
    );
  }
  let body: string;
  try {
    body = await text(await sink.get(manifestKey(id)));
  } catch (error) {
    if (error instanceof BackupError && error.failure === "not_found") {
      throw new BackupError("not_found", `no backup ${id} in ${sink.location}`, { cause: error });
    }
    throw error;
  }
  return parseManifest(body, id);
};

interface KeyInventory {
  /** Ids of backups whose manifest was written, newest first. */
  readonly complete: string[];
  /** Ids of archives without a manifest: a backup in progress, or one that failed. */
  readonly incomplete: string[];
}

const inventory = async (sink: BackupSink): Promise<KeyInventory> => {
  const archives = new Set<string>();
  const manifests = new Set<string>();
  for (const key of await sink.list()) {
    const parsed = parseKey(key);
    if (parsed) (parsed.kind === "archive" ? archives : manifests).add(parsed.id);
  }
  const newestFirst = (ids: Iterable<string>) => [...ids].sort().reverse();
  return {
    complete: newestFirst(manifests),
    incomplete: newestFirst([...archives].filter((id) => !manifests.has(id))),
  };
};

/** Ids of the complete backups in a sink, newest first, without reading their manifests. */
export const listBackupIds = async (sink: BackupSink): Promise<string[]> => (await inventory(sink)).complete;

/** The manifests of every complete backup, newest first. */
export const listBackups = async (sink: BackupSink): Promise<Manifest[]> => {
  const out: Manifest[] = [];
  for (const id of await listBackupIds(sink)) out.push(await readManifest(sink, id));
  return out;
};

/** The newest complete backup's manifest, or null when the sink holds none. */
export const latestBackup = async (sink: BackupSink): Promise<Manifest | null> => {
  const [newest] = await listBackupIds(sink);
  return newest ? readManifest(sink, newest) : null;
};

export interface PruneResult {
  readonly kept: string[];
  readonly deleted: string[];
}

/** An archive whose manifest is this late has no backup still writing it. */
const ABANDONED_AFTER_MS = 24 * 3_600_000;

/**
 * Applies a retention policy to a sink: deletes the backups it does not keep (manifest first, so
 * that a half-deleted backup is never listed as complete), and archives left behind for a day by
 * backups that never finished.
 */
export const pruneBackups = async (
  sink: BackupSink,
  now: Date,
  policy: RetentionPolicy = DEFAULT_RETENTION,
): Promise<PruneResult> => {
  const { complete, incomplete } = await inventory(sink);
  const dated = complete.map((id) => ({ id, createdAt: parseBackupId(id) ?? new Date(0) }));
  const plan = planRetention(dated, now, policy);
  const abandoned = incomplete.filter(
    (id) => now.getTime() - (parseBackupId(id)?.getTime() ?? 0) > ABANDONED_AFTER_MS,
  );
  if (plan.remove.length > 0) await sink.delete(plan.remove.map(manifestKey));
  const archives = [...plan.remove, ...abandoned].map(archiveKey);
  if (archives.length > 0) await sink.delete(archives);
  return { kept: plan.keep, deleted: [...plan.remove, ...abandoned] };
};
