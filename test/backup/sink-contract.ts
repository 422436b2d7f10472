import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { expect, it } from "vitest";
import { BackupError, type BackupSink } from "#backup";

/**
 * What every BackupSink must do, checked through the sink itself and through `peek`, a raw read
 * of what really landed in the storage behind it (null when nothing is there).
 */
export const sinkContract = (sink: () => BackupSink, peek: (key: string) => Promise<Buffer | null>): void => {
  it("stores streams and buffers, and reads them back", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    await sink().put("stream.bin", Readable.from([big, Buffer.from("tail")]));
    await sink().put("small.json", Buffer.from('{"a":1}'));
    expect(await peek("stream.bin")).toEqual(Buffer.concat([big, Buffer.from("tail")]));
    expect(await text(await sink().get("small.json"))).toBe('{"a":1}');
  });

  it("replaces an object whole", async () => {
    await sink().put("replace.txt", Buffer.from("first version, longer"));
    await sink().put("replace.txt", Readable.from([Buffer.from("second")]));
    expect((await peek("replace.txt"))?.toString()).toBe("second");
  });

  it("lists every key, and only keys", async () => {
    await sink().put("list-a.txt", Buffer.from("a"));
    await sink().put("list-b.txt", Buffer.from("b"));
    const keys = await sink().list();
    expect(keys).toEqual(expect.arrayContaining(["list-a.txt", "list-b.txt"]));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("deletes, and ignores keys that are already gone", async () => {
    await sink().put("gone-1.txt", Buffer.from("1"));
    await sink().put("gone-2.txt", Buffer.from("2"));
    await sink().delete(["gone-1.txt", "gone-2.txt", "never-was.txt"]);
    expect(await peek("gone-1.txt")).toBeNull();
    expect(await sink().list()).not.toContain("gone-2.txt");
  });

  it("answers a missing key with not_found", async () => {
    const error = await sink()
      .get("missing.txt")
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(BackupError);
    expect((error as BackupError).failure).toBe("not_found");
  });

  it("keeps nothing of a stream that fails half way", async () => {
    async function* failing() {
      yield Buffer.from("half");
      throw new Error("source broke");
    }
    await expect(sink().put("broken.bin", Readable.from(failing()))).rejects.toThrow("source broke");
    expect(await peek("broken.bin")).toBeNull();
    expect(await sink().list()).not.toContain("broken.bin");
  });

  it("refuses keys that could escape its folder or prefix", async () => {
    for (const key of ["../x", "a/b", "", ".hidden"]) {
      await expect(sink().put(key, Buffer.from("x"))).rejects.toThrow(/invalid backup object key/);
    }
  });
};
