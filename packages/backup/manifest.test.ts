import { describe, expect, it } from "vitest";
import { BackupError } from "./errors.ts";
import {
  archiveKey,
  type Manifest,
  manifestKey,
  parseKey,
  parseManifest,
  serializeManifest,
} from "./manifest.ts";

const ID = "2026-11-22T17-40-00Z-3f9a1c";
const HASH = "a".repeat(64);

const manifest = (): Manifest => ({
  format: "devsim-backup",
  formatVersion: 1,
  id: ID,
  createdAt: "2026-11-22T17:40:00.000Z",
  durationMs: 120,
  server: "15.20",
  schema: { version: "0002_routing", migrations: ["0001_init", "0002_routing"] },
  tables: [
    { schema: "public", name: "projects", columns: ["id", "name"], rows: 1, sha256: HASH },
    { schema: "public", name: "events", columns: ["id"], rows: 41, sha256: HASH },
  ],
  sequences: 1,
  totalRows: 42,
  archive: { key: archiveKey(ID), bytes: 900, uncompressedBytes: 4000, sha256: HASH },
});

const failure = (text: string, id = ID): BackupError => {
  try {
    parseManifest(text, id);
  } catch (error) {
    if (error instanceof BackupError) return error;
    throw error;
  }
  throw new Error("parsed");
};

describe("manifest", () => {
  it("round-trips through its serialized form", () => {
    expect(parseManifest(serializeManifest(manifest()), ID)).toEqual(manifest());
  });

  it("names both objects of a backup, and recognises them back", () => {
    expect(archiveKey(ID)).toBe(`${ID}.jsonl.gz`);
    expect(manifestKey(ID)).toBe(`${ID}.manifest.json`);
    expect(parseKey(archiveKey(ID))).toEqual({ id: ID, kind: "archive" });
    expect(parseKey(manifestKey(ID))).toEqual({ id: ID, kind: "manifest" });
    expect(parseKey(`${ID}.jsonl`)).toBeNull();
    expect(parseKey("notes.manifest.json")).toBeNull();
    expect(parseKey(`x${ID}.jsonl.gz`)).toBeNull();
  });

  it("refuses another format or version as unsupported, not as damaged", () => {
    const other = { ...manifest(), formatVersion: 2 };
    const error = failure(JSON.stringify(other));
    expect(error.failure).toBe("unsupported_format");
    expect(error.message).toMatch(/format devsim-backup 2; this devsim reads devsim-backup 1/);
  });

  it.each([
    ["text that is not JSON", () => "{ not json", /not JSON/],
    [
      "a bad checksum",
      () => JSON.stringify({ ...manifest(), archive: { ...manifest().archive, sha256: "xyz" } }),
      /archive.sha256: a hex SHA-256/,
    ],
    [
      "a negative row count",
      () => JSON.stringify({ ...manifest(), tables: [{ ...manifest().tables[0], rows: -1 }] }),
      /tables.0.rows/,
    ],
    [
      "row counts that do not add up",
      () => JSON.stringify({ ...manifest(), totalRows: 41 }),
      /totalRows is not the sum/,
    ],
    [
      "a schema version that is not the last migration",
      () =>
        JSON.stringify({
          ...manifest(),
          schema: { version: "0001_init", migrations: ["0001_init", "0002_routing"] },
        }),
      /schema.version/,
    ],
    [
      "no migrations",
      () => JSON.stringify({ ...manifest(), schema: { version: "x", migrations: [] } }),
      /schema.migrations/,
    ],
  ])("refuses %s as corrupt", (_what, text, message) => {
    const error = failure(text());
    expect(error.failure).toBe("corrupt");
    expect(error.message).toMatch(message);
    expect(error.message).toContain(ID);
  });

  it("refuses a manifest that describes another backup", () => {
    const other = "2026-11-22T18-40-00Z-000000";
    expect(failure(serializeManifest(manifest()), other).message).toMatch(
      `backup ${other}: manifest describes ${ID}`,
    );
  });
});
