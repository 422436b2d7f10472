import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createBackup,
  folderSink,
  listBackupIds,
  listBackups,
  pruneBackups,
  restoreBackup,
  s3Sink,
} from "#backup";
import { migrate } from "#store";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { fillControlPlane, tableContents } from "./fill.ts";
import { sinkContract } from "./sink-contract.ts";

const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

describe("folderSink", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "devsim-folder-sink-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  sinkContract(
    () => folderSink(join(dir, "backups")),
    async (key) => readFile(join(dir, "backups", key)).catch(() => null),
  );

  it("leaves no partial file behind after a failed write", async () => {
    expect((await readdir(join(dir, "backups"))).filter((f) => f.includes("partial"))).toEqual([]);
  });

  it("lists nothing in a folder that does not exist yet", async () => {
    expect(await folderSink(join(dir, "not-yet")).list()).toEqual([]);
  });
});

describe("s3Sink through the AWS SDK against a fake S3", () => {
  let fake: FakeS3;
  const sink = (prefix = "devsim/backups/") =>
    s3Sink({
      bucket: "backups",
      prefix,
      endpoint: fake.url,
      region: "eu-west-1",
      forcePathStyle: true,
      credentials: CREDENTIALS,
    });
  beforeAll(async () => {
    fake = await startFakeS3({ buckets: ["backups"], pageSize: 3 });
  });
  afterAll(async () => {
    await fake?.close();
  });

  sinkContract(sink, async (key) => fake.bucket("backups").get(`devsim/backups/${key}`)?.body ?? null);

  it("sends path-style, SigV4-signed requests, and streams in aws-chunked frames with a CRC32 trailer", async () => {
    fake.requests.length = 0;
    const body = Buffer.alloc(200_000, 1);
    await sink().put("signed.bin", Readable.from([body]));
    const [put] = fake.requests;
    expect(put?.operation).toBe("PutObject");
    expect(put?.path).toBe("/backups/devsim/backups/signed.bin");
    expect(put?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request, ?SignedHeaders=[^,]*x-amz-content-sha256[^,]*, ?Signature=[0-9a-f]{64}$/,
    );
    expect(put?.headers["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/);
    expect(put?.headers["x-amz-content-sha256"]).toBe("STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    expect(put?.headers["content-encoding"]).toContain("aws-chunked");
    expect(put?.headers["x-amz-trailer"]).toBe("x-amz-checksum-crc32");
    expect(put?.headers["x-amz-decoded-content-length"]).toBe(String(body.length));
    expect(put?.wireBytes).toBeGreaterThan(body.length);
    expect(put?.payloadBytes).toBe(body.length);
    expect(put?.status).toBe(200);
  });

  it("pages through ListObjectsV2 with continuation tokens, and keeps to its prefix", async () => {
    const other = sink("other/");
    await other.put("foreign.txt", Buffer.from("x"));
    const keys = Array.from({ length: 7 }, (_, i) => `page-${i}.txt`);
    for (const key of keys) await sink("paged/").put(key, Buffer.from(key));
    fake.requests.length = 0;
    expect((await sink("paged/").list()).sort()).toEqual(keys);
    const lists = fake.requests.filter((r) => r.operation === "ListObjectsV2");
    expect(lists).toHaveLength(3);
    expect(lists.map((r) => r.query["continuation-token"] !== undefined)).toEqual([false, true, true]);
    expect(lists.every((r) => r.query.prefix === "paged/")).toBe(true);
  });

  it("deletes in one DeleteObjects call, with the integrity header S3 requires", async () => {
    await sink().put("batch-1.txt", Buffer.from("1"));
    await sink().put("batch-2.txt", Buffer.from("2"));
    fake.requests.length = 0;
    await sink().delete(["batch-1.txt", "batch-2.txt"]);
    expect(fake.requests.map((r) => r.operation)).toEqual(["DeleteObjects"]);
    expect(
      fake.requests[0]?.headers["x-amz-checksum-crc32"] ?? fake.requests[0]?.headers["content-md5"],
    ).toBeTruthy();
    expect(fake.requests[0]?.status).toBe(200);
  });

  describe("as the sink of real backups", () => {
    let db: TestDatabase;
    let target: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase();
      target = await createTestDatabase();
      await migrate(db.sql);
      await fillControlPlane(db.sql, { workloads: 5, eventsPerWorkload: 30 });
    });
    afterAll(async () => {
      await target?.drop();
      await db?.drop();
    });

    it("backs up, lists, restores and prunes through S3", async () => {
      const backups = sink("cluster-a/");
      const times = ["2026-11-20T10:00:00Z", "2026-11-20T10:30:00Z", "2026-11-22T17:00:00Z"];
      const ids: string[] = [];
      for (const at of times)
        ids.push((await createBackup({ sql: db.sql, sink: backups, now: () => new Date(at) })).id);
      expect(await listBackupIds(backups)).toEqual([...ids].reverse());
      expect((await listBackups(backups)).map((m) => m.createdAt)).toEqual(
        [...times].reverse().map((t) => new Date(t).toISOString()),
      );

      await restoreBackup({ sink: backups, id: ids[2] ?? "", targetUrl: target.url });
      expect(await tableContents(target.sql)).toEqual(await tableContents(db.sql));

      // Two days on, 10:00 and 10:30 on the 20th share a day: only the newer of them stays.
      const pruned = await pruneBackups(backups, new Date("2026-11-22T18:00:00Z"));
      expect(pruned.deleted).toEqual([ids[0]]);
      expect(await listBackupIds(backups)).toEqual([ids[2], ids[1]]);
      expect(fake.bucket("backups").has(`cluster-a/${ids[0]}.jsonl.gz`)).toBe(false);
      expect(fake.bucket("backups").has(`cluster-a/${ids[0]}.manifest.json`)).toBe(false);
    });
  });
});
