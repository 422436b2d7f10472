import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { PutObjectCommandInput, S3Client } from "@aws-sdk/client-s3";
import { BackupError } from "../errors.ts";
import { assertKey, type BackupSink } from "../sink.ts";

export interface S3SinkOptions {
  readonly bucket: string;
  /** Prepended to every key, e.g. `devsim/backups/`. */
  readonly prefix?: string;
  /** An S3-compatible service's URL (MinIO, R2, …); AWS's own endpoints when absent. */
  readonly endpoint?: string;
  /** Defaults to the SDK's (AWS_REGION, the profile…). */
  readonly region?: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`, as most S3-compatible services want. */
  readonly forcePathStyle?: boolean;
  /** Defaults to the SDK's default provider chain (environment, profile, instance role…). */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
}

type Sdk = typeof import("@aws-sdk/client-s3");

// The SDK takes ~150 ms and some memory to load; a control plane on the default folder sink
// should not pay for it, so it is loaded on the first call to an S3 sink.
let sdk: Promise<Sdk> | undefined;
const loadSdk = (): Promise<Sdk> => {
  sdk ??= import("@aws-sdk/client-s3");
  return sdk;
};

/** DeleteObjects takes at most this many keys a request. */
const DELETE_BATCH = 1000;

/**
 * A PutObject needs the length of its body up front, and an archive's is known only once it is
 * written; so a stream is spooled to a temporary file first, keeping memory flat however large.
 */
const spool = async <T>(body: Readable, use: (path: string, bytes: number) => Promise<T>): Promise<T> => {
  const dir = await mkdtemp(join(tmpdir(), "devsim-s3-"));
  try {
    const path = join(dir, randomBytes(4).toString("hex"));
    await pipeline(body, createWriteStream(path));
    return await use(path, (await stat(path)).size);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/** Keeps backups as objects in an S3 bucket (or any service that speaks its API), under `prefix`. */
export const s3Sink = (options: S3SinkOptions): BackupSink => {
  const prefix = options.prefix ?? "";
  let connected: Promise<{ s3: Sdk; client: S3Client }> | undefined;
  const connect = () => {
    connected ??= loadSdk().then((s3) => ({
      s3,
      client: new s3.S3Client({
        ...(options.region ? { region: options.region } : {}),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        forcePathStyle: options.forcePathStyle ?? false,
      }),
    }));
    return connected;
  };
  const objectKey = (key: string) => {
    assertKey(key);
    return `${prefix}${key}`;
  };
  return {
    location: `s3://${options.bucket}/${prefix}`,
    async put(key, body) {
      const target = objectKey(key);
      const { s3, client } = await connect();
      const put = (Body: PutObjectCommandInput["Body"], ContentLength: number) =>
        client.send(new s3.PutObjectCommand({ Bucket: options.bucket, Key: target, Body, ContentLength }));
      if (body instanceof Uint8Array) await put(body, body.byteLength);
      else await spool(body as Readable, (path, bytes) => put(createReadStream(path), bytes));
    },
    async get(key) {
      const target = objectKey(key);
      const { s3, client } = await connect();
      try {
        const out = await client.send(new s3.GetObjectCommand({ Bucket: options.bucket, Key: target }));
        if (!(out.Body instanceof Readable)) throw new Error(`GetObject ${key}: expected a stream body`);
        return out.Body;
      } catch (error) {
        if (error instanceof s3.NoSuchKey) {
          throw new BackupError(
            "not_found",
            `no backup object '${key}' in s3://${options.bucket}/${prefix}`,
            {
              cause: error,
            },
          );
        }
        throw error;
      }
    },
    async list() {
      const { s3, client } = await connect();
      const keys: string[] = [];
      for await (const page of s3.paginateListObjectsV2(
        { client },
        { Bucket: options.bucket, Prefix: prefix },
      )) {
        for (const object of page.Contents ?? []) {
          const key = object.Key?.slice(prefix.length);
          // Deeper "folders" under the prefix belong to something else.
          if (key && !key.includes("/")) keys.push(key);
        }
      }
      return keys;
    },
    async delete(keys) {
      const objects = keys.map((key) => ({ Key: objectKey(key) }));
      const { s3, client } = await connect();
      for (let i = 0; i < objects.length; i += DELETE_BATCH) {
        const batch = objects.slice(i, i + DELETE_BATCH);
        const out = await client.send(
          new s3.DeleteObjectsCommand({ Bucket: options.bucket, Delete: { Objects: batch, Quiet: true } }),
        );
        const failed = out.Errors ?? [];
        if (failed.length > 0) {
          const first = failed[0];
          throw new Error(
            `could not delete ${failed.length} backup object(s) from s3://${options.bucket}/${prefix}: ${first?.Key}: ${first?.Code} ${first?.Message}`,
          );
        }
      }
    },
  };
};
