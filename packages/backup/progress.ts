/** Where long work stands: the table at hand and its rows so far. */
export interface Progress {
  readonly phase: "dump" | "restore" | "verify";
  /** `schema.name`. */
  readonly table: string;
  readonly rows: number;
  /** True once, when the table is finished. */
  readonly done: boolean;
}

export type ProgressListener = (progress: Progress) => void;
