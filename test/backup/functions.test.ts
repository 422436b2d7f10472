import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "#store";
import { type FakeS3, startFakeS3 } from "../fakes/s3.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { fillControlPlane } from "./fill.ts";

let db: TestDatabase;
let s3: FakeS3;

beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.sql);
  await fillControlPlane(db.sql, { workloads: 3, eventsPerWorkload: 10 });
  s3 = await startFakeS3({ buckets: ["devsim-backups"] });
  // Configured as deployed: a bucket, and credentials found by the SDK's default chain.
  Object.assign(process.env, {
    DATABASE_URL: db.url,
    DEVSIM_BACKUP_BUCKET: "devsim-backups",
    DEVSIM_BACKUP_PREFIX: "prod/",
    DEVSIM_BACKUP_S3_ENDPOINT: s3.url,
    DEVSIM_BACKUP_S3_REGION: "eu-west-1",
    DEVSIM_BACKUP_S3_FORCE_PATH_STYLE: "1",
    AWS_ACCESS_KEY_ID: "AKIDFROMENV",
    AWS_SECRET_ACCESS_KEY: "secret-from-env",
    LOG_LEVEL: "silent",
  });
});

afterAll(async () => {
  await s3?.close();
  await db?.drop();
});

describe("the scheduled backup functions, invoked as the schedule invokes them", () => {
  it("back up into the bucket, then pass the restore drill on a scratch database", async () => {
    const backup = (await import("../../functions/backup.ts")).handler;
    const drill = (await import("../../functions/restore-drill.ts")).handler;

    const taken = await backup();
    expect(taken).toMatchObject({ rows: expect.any(Number), deleted: 0 });
    expect([...s3.bucket("devsim-backups").keys()].sort()).toEqual([
      `prod/${taken.id}.jsonl.gz`,
      `prod/${taken.id}.manifest.json`,
    ]);
    expect(s3.requests.find((r) => r.operation === "PutObject")?.headers.authorization).toContain(
      "Credential=AKIDFROMENV/",
    );

    expect(await drill()).toMatchObject({ backupId: taken.id });
    const runs = await db.sql`SELECT kind, status, backup_id FROM backup_runs ORDER BY id`;
    expect(runs).toEqual([
      { kind: "backup", status: "succeeded", backup_id: taken.id },
      { kind: "drill", status: "succeeded", backup_id: taken.id },
    ]);
  });
});
