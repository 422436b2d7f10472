import { DevsimError, type ErrorCode } from "#core";

/** Why a backup operation refused or failed. */
export type BackupFailure =
  | "not_found"
  | "corrupt"
  | "target_not_empty"
  | "unknown_schema"
  | "schema_mismatch"
  | "unsupported_format"
  | "not_a_control_plane";

const CODES: Record<BackupFailure, ErrorCode> = {
  not_found: "not_found",
  // The archive disagrees with its manifest, or the manifest with itself.
  corrupt: "conflict",
  target_not_empty: "conflict",
  unknown_schema: "conflict",
  schema_mismatch: "conflict",
  unsupported_format: "conflict",
  not_a_control_plane: "invalid_input",
};

/** Every error the backup package raises on purpose; `failure` says which, for callers and tests. */
export class BackupError extends DevsimError {
  readonly failure: BackupFailure;

  constructor(failure: BackupFailure, message: string, options: { cause?: unknown; details?: object } = {}) {
    super(CODES[failure], message, { failure, ...options.details }, { cause: options.cause });
    this.name = "BackupError";
    this.failure = failure;
  }
}
