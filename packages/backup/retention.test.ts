import { describe, expect, it } from "vitest";
import { type DatedBackup, DEFAULT_RETENTION, planRetention } from "./retention.ts";

const NOW = new Date("2026-11-22T17:40:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A backup taken `ms` before NOW, named by its time so that failures read well. */
const ago = (ms: number, tag = ""): DatedBackup => {
  const createdAt = new Date(NOW.getTime() - ms);
  return { id: `${createdAt.toISOString()}${tag}`, createdAt };
};

/** Every `stepMs` from NOW back to `spanMs` ago. */
const series = (spanMs: number, stepMs: number): DatedBackup[] => {
  const out: DatedBackup[] = [];
  for (let t = 0; t <= spanMs; t += stepMs) out.push(ago(t));
  return out;
};

describe("planRetention", () => {
  it("keeps hourly for 48 hours and daily for 30 days by default", () => {
    expect(DEFAULT_RETENTION).toEqual({ hourlyForHours: 48, dailyForDays: 30 });
  });

  it("has nothing to do without backups", () => {
    expect(planRetention([], NOW)).toEqual({ keep: [], remove: [] });
  });

  it("keeps a lone backup however old it is", () => {
    const old = ago(400 * DAY);
    expect(planRetention([old], NOW)).toEqual({ keep: [old.id], remove: [] });
  });

  it("keeps only the newest backup of each hour within the hourly window", () => {
    // 17:40, 17:25, 17:10 and 17:00 fall in one hour; 16:55 in the one before.
    const inHour = [ago(0), ago(15 * 60_000), ago(30 * 60_000), ago(40 * 60_000)];
    const before = ago(45 * 60_000);
    const plan = planRetention([...inHour, before], NOW);
    expect(plan.keep).toEqual([inHour[0]?.id, before.id]);
    expect(plan.remove).toEqual(inHour.slice(1).map((b) => b.id));
  });

  it("keeps one backup per hour for 48 hours and one per day for 30 days out of a quarter-hourly series", () => {
    const all = series(60 * DAY, 15 * 60_000);
    const plan = planRetention(all, NOW);
    const kept = all.filter((b) => plan.keep.includes(b.id));
    const hourly = kept.filter((b) => NOW.getTime() - b.createdAt.getTime() < 48 * HOUR);
    const daily = kept.filter((b) => NOW.getTime() - b.createdAt.getTime() >= 48 * HOUR);
    // 48 h back from 17:40 touches 49 UTC hours (17:00 today … 17:00 two days ago, partly).
    expect(hourly).toHaveLength(49);
    expect(new Set(hourly.map((b) => Math.floor(b.createdAt.getTime() / HOUR))).size).toBe(49);
    // Days within 30 days: 31 UTC days are touched; the three newest already hold an hourly keeper.
    const days = new Set(kept.map((b) => Math.floor(b.createdAt.getTime() / DAY)));
    expect(days.size).toBe(31);
    for (const b of daily) {
      // Each daily keeper is the newest of its day: nothing later that day exists in the series.
      expect(b.createdAt.getUTCHours() * 60 + b.createdAt.getUTCMinutes()).toBe(23 * 60 + 55);
      expect(NOW.getTime() - b.createdAt.getTime()).toBeLessThan(30 * DAY);
    }
    expect(plan.keep.length + plan.remove.length).toBe(all.length);
    expect(new Set([...plan.keep, ...plan.remove]).size).toBe(all.length);
  });

  it("deletes everything older than the daily window except the newest backup", () => {
    const all = [ago(31 * DAY), ago(40 * DAY), ago(29 * DAY)];
    expect(planRetention(all, NOW)).toEqual({ keep: [all[2]?.id], remove: [all[0]?.id, all[1]?.id] });
  });

  it("treats the window edges as exclusive", () => {
    const policy = { hourlyForHours: 2, dailyForDays: 0 };
    const justInside = ago(2 * HOUR - 1);
    const onEdge = ago(2 * HOUR + 0, "-edge");
    const newest = ago(0);
    const plan = planRetention([newest, justInside, onEdge], NOW, policy);
    expect(plan.keep).toEqual([newest.id, justInside.id]);
    expect(plan.remove).toEqual([onEdge.id]);
  });

  it("keeps backups dated in the future as within both windows", () => {
    const ahead = ago(-30 * 60_000);
    const plan = planRetention([ago(0), ahead], NOW);
    expect(plan.keep).toEqual([ahead.id, ago(0).id]);
    expect(planRetention([ago(0), ahead], NOW, { hourlyForHours: 0, dailyForDays: 0 }).keep).toEqual([
      ahead.id,
    ]);
  });

  it("with both windows at zero keeps only the newest backup", () => {
    const all = series(5 * DAY, 6 * HOUR);
    const plan = planRetention(all, NOW, { hourlyForHours: 0, dailyForDays: 0 });
    expect(plan.keep).toEqual([all[0]?.id]);
    expect(plan.remove).toHaveLength(all.length - 1);
  });

  it("with no hourly window keeps one backup per day", () => {
    const all = series(3 * DAY, HOUR);
    const plan = planRetention(all, NOW, { hourlyForHours: 0, dailyForDays: 7 });
    // NOW is 17:40 on the 22nd; the series reaches 17:40 on the 19th: the 19th to the 22nd.
    expect(plan.keep).toEqual([
      "2026-11-22T17:40:00.000Z",
      "2026-11-21T23:40:00.000Z",
      "2026-11-20T23:40:00.000Z",
      "2026-11-19T23:40:00.000Z",
    ]);
  });

  it("does not depend on the order of its input, and breaks ties between equal times by id", () => {
    const all = series(3 * DAY, 20 * 60_000);
    const twin = { id: `${all[0]?.id}-b`, createdAt: all[0]?.createdAt ?? NOW };
    const withTwin = [...all, twin];
    const reversed = planRetention([...withTwin].reverse(), NOW);
    expect(planRetention(withTwin, NOW)).toEqual(reversed);
    expect(reversed.keep[0]).toBe(twin.id);
    expect(reversed.remove).toContain(all[0]?.id);
  });

  it("honours a longer configured window", () => {
    const all = series(10 * DAY, HOUR);
    const plan = planRetention(all, NOW, { hourlyForHours: 24 * 10 + 1, dailyForDays: 0 });
    expect(plan.remove).toEqual([]);
  });
});
