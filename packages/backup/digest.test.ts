import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { DigestTap, TableDigest } from "./digest.ts";

const sha256 = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

describe("TableDigest", () => {
  it("hashes the lines as they stand in the archive, each with its newline", () => {
    const digest = new TableDigest();
    digest.add('["a",null]');
    digest.add('["b","é"]');
    expect(digest.rows).toBe(2);
    expect(digest.finish()).toEqual({ rows: 2, sha256: sha256('["a",null]\n["b","é"]\n') });
  });

  it("tells an empty table from one empty line, and order matters", () => {
    const empty = new TableDigest().finish();
    const blank = new TableDigest();
    blank.add("");
    expect(empty).toEqual({ rows: 0, sha256: sha256("") });
    expect(blank.finish().sha256).not.toBe(empty.sha256);
    const ab = new TableDigest();
    ab.add("a");
    ab.add("b");
    const ba = new TableDigest();
    ba.add("b");
    ba.add("a");
    expect(ab.finish().sha256).not.toBe(ba.finish().sha256);
  });
});

describe("DigestTap", () => {
  it("passes bytes through untouched while counting and hashing them", async () => {
    const chunks = [Buffer.from("hello "), Buffer.from([0, 255, 10]), Buffer.from("world")];
    const tap = new DigestTap();
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(chunks),
      tap,
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          out.push(chunk);
          done();
        },
      }),
    );
    const all = Buffer.concat(chunks);
    expect(Buffer.concat(out)).toEqual(all);
    expect(tap.bytes).toBe(all.length);
    expect(tap.sha256()).toBe(sha256(all));
  });
});
