import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

/** Row count and SHA-256 of a table's rows, fed one archive line at a time (without its newline). */
export class TableDigest {
  #hash: Hash = createHash("sha256");
  #rows = 0;

  add(line: string): void {
    this.#hash.update(line);
    this.#hash.update("\n");
    this.#rows++;
  }

  get rows(): number {
    return this.#rows;
  }

  /** The hex digest; the digest can no longer grow afterwards. */
  finish(): { rows: number; sha256: string } {
    return { rows: this.#rows, sha256: this.#hash.digest("hex") };
  }
}

/** Passes bytes through unchanged, counting them and hashing them with SHA-256 on the way. */
export class DigestTap extends Transform {
  #hash: Hash = createHash("sha256");
  #bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    done(null, chunk);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The hex digest of everything that passed; call once the stream has ended. */
  sha256(): string {
    return this.#hash.copy().digest("hex");
  }
}
