import { randomBytes } from "node:crypto";

// `2026-11-22T17-40-00Z-3f9a1c`: ISO 8601 with the colons a file name cannot carry, so that ids
// sort by time as plain strings, and a random tail so that two backups in one second differ.
const BACKUP_ID = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})Z-([0-9a-f]{6})$/;

/** A new backup id for a backup taken at `at`. */
export const newBackupId = (at: Date, random: string = randomBytes(3).toString("hex")): string => {
  if (!/^[0-9a-f]{6}$/.test(random))
    throw new Error(`backup id suffix must be 6 hex digits, got '${random}'`);
  const stamp = at.toISOString().slice(0, 19).replaceAll(":", "-");
  return `${stamp}Z-${random}`;
};

/** Whether `id` has the shape of a backup id (a safe object or file name, too). */
export const isBackupId = (id: string): boolean => parseBackupId(id) !== null;

/** The time a backup id was taken at (to the second), or null when `id` is not a backup id. */
export const parseBackupId = (id: string): Date | null => {
  const m = BACKUP_ID.exec(id);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const at = new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s));
  // Date.UTC rolls 2026-02-31 over into March; such an id was never made by newBackupId.
  return newBackupId(at, id.slice(-6)) === id ? at : null;
};
