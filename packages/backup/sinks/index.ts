import type { BackupSink } from "../sink.ts";
import { folderSink } from "./folder.ts";
import { type S3SinkOptions, s3Sink } from "./s3.ts";

export { folderSink } from "./folder.ts";
export { type S3SinkOptions, s3Sink } from "./s3.ts";

/** Which sink to use, as configuration describes it. */
export type SinkConfig =
  | { readonly kind: "folder"; readonly dir: string }
  | ({ readonly kind: "s3" } & S3SinkOptions);

export const openSink = (config: SinkConfig): BackupSink =>
  config.kind === "folder" ? folderSink(config.dir) : s3Sink(config);
