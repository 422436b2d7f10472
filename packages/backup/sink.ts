import type { Readable } from "node:stream";

/**
 * Where backups are kept: a flat namespace of keys (names without slashes) holding byte objects.
 * Implementations: a local folder and S3-compatible object storage.
 */
export interface BackupSink {
  /** Where the objects go, for messages (`/var/backups`, `s3://bucket/prefix/`). */
  readonly location: string;
  /**
   * Stores `body` under `key`, replacing what was there. All or nothing: a reader sees the old
   * object or the whole new one, never a part. Consumes a stream to its end; fails if it fails.
   */
  put(key: string, body: Readable | Uint8Array): Promise<void>;
  /** Streams an object. Rejects with BackupError `not_found` when there is none under `key`. */
  get(key: string): Promise<Readable>;
  /** Every key, in no particular order. */
  list(): Promise<string[]>;
  /** Deletes the objects; keys without an object are not an error. */
  delete(keys: readonly string[]): Promise<void>;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Keys are plain names, so that no key can reach outside a folder or prefix. */
export const assertKey = (key: string): void => {
  if (!KEY.test(key)) throw new Error(`invalid backup object key '${key}'`);
};
