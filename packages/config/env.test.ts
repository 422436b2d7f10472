import { describe, expect, it } from "vitest";
import {
  backupRetention,
  backupSinkConfig,
  readBackupEnv,
  readDeployedBackupEnv,
  readDeployedEnv,
} from "./env.ts";

const complete = {
  DATABASE_URL: "postgres://user@db.example.com:5432/devsim",
  UPSTASH_REDIS_REST_URL: "https://eu1-example.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: "secret",
  DEVSIM_SIM_URL: "https://sim.example.com",
};

describe("readDeployedEnv", () => {
  it("accepts a complete environment", () => {
    expect(readDeployedEnv(complete)).toEqual({
      ...complete,
      LOG_LEVEL: "info",
      DATABASE_POOL_SIZE: 2,
      DEVSIM_KV_PREFIX: "",
    });
  });

  it("names every missing or malformed variable at once", () => {
    const { UPSTASH_REDIS_REST_TOKEN: _, ...missing } = complete;
    expect(() => readDeployedEnv({ ...missing, DATABASE_URL: "mysql://nope" })).toThrow(
      /DATABASE_URL: .*; UPSTASH_REDIS_REST_TOKEN: /,
    );
  });
});

describe("readBackupEnv", () => {
  it("defaults to a folder, 48 hourly and 30 daily backups, and no database", () => {
    const env = readBackupEnv({});
    expect(env).toEqual({
      DEVSIM_BACKUP_S3_FORCE_PATH_STYLE: false,
      DEVSIM_BACKUP_KEEP_HOURS: 48,
      DEVSIM_BACKUP_KEEP_DAYS: 30,
      LOG_LEVEL: "info",
    });
    expect(backupSinkConfig(env)).toEqual({ kind: "folder", dir: ".devsim/backups" });
    expect(backupSinkConfig({ ...env, DEVSIM_BACKUP_DIR: "/var/backups" }, "ignored")).toEqual({
      kind: "folder",
      dir: "/var/backups",
    });
    expect(backupRetention(env)).toEqual({ hourlyForHours: 48, dailyForDays: 30 });
  });

  it("describes an S3 sink when a bucket is set, treating empty variables as unset", () => {
    const env = readBackupEnv({
      DEVSIM_BACKUP_BUCKET: "devsim-backups",
      DEVSIM_BACKUP_PREFIX: "prod/",
      DEVSIM_BACKUP_S3_ENDPOINT: "http://127.0.0.1:9000",
      DEVSIM_BACKUP_S3_REGION: "",
      DEVSIM_BACKUP_S3_FORCE_PATH_STYLE: "1",
      DEVSIM_BACKUP_KEEP_HOURS: "24",
    });
    expect(backupSinkConfig(env)).toEqual({
      kind: "s3",
      bucket: "devsim-backups",
      prefix: "prod/",
      endpoint: "http://127.0.0.1:9000",
      forcePathStyle: true,
    });
    expect(backupRetention(env).hourlyForHours).toBe(24);
  });

  it("names every malformed variable", () => {
    expect(() =>
      readBackupEnv({
        DEVSIM_BACKUP_BUCKET: "Not_A_Bucket",
        DEVSIM_BACKUP_KEEP_DAYS: "-1",
        DEVSIM_BACKUP_S3_FORCE_PATH_STYLE: "yes",
      }),
    ).toThrow(
      /DEVSIM_BACKUP_BUCKET: an S3 bucket name; DEVSIM_BACKUP_S3_FORCE_PATH_STYLE: .*; DEVSIM_BACKUP_KEEP_DAYS: /,
    );
  });

  it("requires DATABASE_URL for the deployed functions only", () => {
    expect(readBackupEnv({}).DATABASE_URL).toBeUndefined();
    expect(() => readDeployedBackupEnv({})).toThrow(/DATABASE_URL/);
    expect(readDeployedBackupEnv({ DATABASE_URL: complete.DATABASE_URL }).DATABASE_URL).toBe(
      complete.DATABASE_URL,
    );
  });
});
