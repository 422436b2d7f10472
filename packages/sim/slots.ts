/** Gives back a slot taken with `acquire`. Calling it more than once has no further effect. */
export type Release = () => void;

/**
 * A counting semaphore whose capacity changes at run time (replicas come and go). Waiters are
 * served first come, first served.
 */
export interface Slots {
  /** Resolves with a release once a slot is free; rejects when `signal` aborts or capacity drops to 0. */
  acquire(signal?: AbortSignal): Promise<Release>;
  setCapacity(capacity: number): void;
  readonly capacity: number;
  readonly inUse: number;
  readonly queued: number;
}

interface Waiter {
  grant(): void;
  fail(reason: unknown): void;
}

export class NoCapacityError extends Error {
  constructor() {
    super("no capacity: no ready replicas");
    this.name = "NoCapacityError";
  }
}

export const createSlots = (initialCapacity = 0): Slots => {
  let capacity = initialCapacity;
  let inUse = 0;
  const queue: Waiter[] = [];

  const releaser = (): Release => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      inUse -= 1;
      pump();
    };
  };

  const pump = (): void => {
    while (inUse < capacity && queue.length > 0) {
      const next = queue.shift();
      inUse += 1;
      next?.grant();
    }
  };

  return {
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (capacity === 0) return Promise.reject(new NoCapacityError());
      if (inUse < capacity && queue.length === 0) {
        inUse += 1;
        return Promise.resolve(releaser());
      }
      return new Promise<Release>((resolve, reject) => {
        const onAbort = (): void => {
          const index = queue.indexOf(waiter);
          if (index >= 0) queue.splice(index, 1);
          reject(signal?.reason);
        };
        const waiter: Waiter = {
          grant: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve(releaser());
          },
          fail: (reason) => {
            signal?.removeEventListener("abort", onAbort);
            reject(reason);
          },
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        queue.push(waiter);
      });
    },
    setCapacity(next) {
      capacity = Math.max(0, next);
      // With nothing left to serve them, waiters would wait forever; fail them like a load balancer would.
      if (capacity === 0) {
        for (const waiter of queue.splice(0)) waiter.fail(new NoCapacityError());
      }
      pump();
    },
    get capacity() {
      return capacity;
    },
    get inUse() {
      return inUse;
    },
    get queued() {
      return queue.length;
    },
  };
};
