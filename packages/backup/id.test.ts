import { describe, expect, it } from "vitest";
import { isBackupId, newBackupId, parseBackupId } from "./id.ts";

describe("backup ids", () => {
  it("spell the time without colons and end in six hex digits", () => {
    expect(newBackupId(new Date("2026-11-22T17:40:00.999Z"), "3f9a1c")).toBe("2026-11-22T17-40-00Z-3f9a1c");
    expect(newBackupId(new Date("2026-11-22T17:40:00Z"))).toMatch(/^2026-11-22T17-40-00Z-[0-9a-f]{6}$/);
  });

  it("refuse a suffix that would make an unsafe name", () => {
    expect(() => newBackupId(new Date(), "../etc")).toThrow(/6 hex digits/);
  });

  it("sort by time as strings", () => {
    const times = [
      "2026-01-02T00:00:00Z",
      "2025-12-31T23:59:59Z",
      "2026-01-01T09:00:00Z",
      "2026-01-01T10:00:00Z",
    ];
    const ids = times.map((t, i) => newBackupId(new Date(t), `00000${i}`));
    const byId = [...ids].sort();
    const byTime = [...times].sort().map((t) => ids[times.indexOf(t)]);
    expect(byId).toEqual(byTime);
  });

  it("parse back to the second they were taken at", () => {
    expect(parseBackupId("2026-11-22T17-40-00Z-3f9a1c")?.toISOString()).toBe("2026-11-22T17:40:00.000Z");
  });

  it.each([
    "",
    "2026-11-22T17-40-00Z",
    "2026-11-22T17:40:00Z-3f9a1c",
    "2026-11-22T17-40-00Z-3F9A1C",
    "2026-11-22T17-40-00Z-3f9a1c.manifest.json",
    "2026-02-31T00-00-00Z-000000",
    "2026-11-22T24-00-00Z-000000",
    "../2026-11-22T17-40-00Z-3f9a1c",
  ])("reject %j", (id) => {
    expect(parseBackupId(id)).toBeNull();
    expect(isBackupId(id)).toBe(false);
  });
});
