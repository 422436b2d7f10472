import { describe, expect, test } from "vitest";
import { createSlots, NoCapacityError, type Release } from "./slots.ts";

const flush = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe("slots", () => {
  test("grants up to capacity at once and queues the rest in order", async () => {
    const slots = createSlots(2);
    const granted: number[] = [];
    const releases: Release[] = [];
    for (const n of [1, 2, 3, 4]) {
      void slots.acquire().then((release) => {
        granted.push(n);
        releases.push(release);
      });
    }
    await flush();
    expect(granted).toEqual([1, 2]);
    expect(slots).toMatchObject({ inUse: 2, queued: 2 });

    releases[0]?.();
    releases[0]?.(); // a second release of the same slot must not free another
    await flush();
    expect(granted).toEqual([1, 2, 3]);
    expect(slots).toMatchObject({ inUse: 2, queued: 1 });
  });

  test("raising capacity serves waiters at once", async () => {
    const slots = createSlots(1);
    await slots.acquire();
    const waiting = slots.acquire();
    expect(slots.queued).toBe(1);
    slots.setCapacity(2);
    await expect(waiting).resolves.toBeTypeOf("function");
    expect(slots.inUse).toBe(2);
  });

  test("without capacity, acquire fails and dropping to zero fails every waiter", async () => {
    const empty = createSlots(0);
    await expect(empty.acquire()).rejects.toBeInstanceOf(NoCapacityError);

    const slots = createSlots(1);
    await slots.acquire();
    const waiters = [slots.acquire(), slots.acquire()];
    slots.setCapacity(0);
    for (const w of waiters) await expect(w).rejects.toBeInstanceOf(NoCapacityError);
    expect(slots.queued).toBe(0);
  });

  test("an aborted waiter leaves the queue without taking a slot", async () => {
    const slots = createSlots(1);
    const release = await slots.acquire();
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    controller.abort(new Error("client went away"));
    await expect(waiting).rejects.toThrow("client went away");
    expect(slots.queued).toBe(0);
    release();
    expect(slots.inUse).toBe(0);
  });
});
