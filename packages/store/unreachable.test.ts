import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { connectDatabase } from "./connect.ts";
import { isDatabaseUnreachable, unreachableReason } from "./unreachable.ts";

const coded = (code: string, message = `failed: ${code}`): Error =>
  Object.assign(new Error(message), { code });

describe("unreachableReason", () => {
  it.each([
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "ENOTFOUND",
    "EAI_AGAIN",
    "CONNECT_TIMEOUT",
    "CONNECTION_CLOSED",
    "CONNECTION_ENDED",
    "CONNECTION_DESTROYED",
    "57P01",
    "57P03",
    "08006",
    "08001",
  ])("names %s as the database being unreachable", (code) => {
    expect(unreachableReason(coded(code))).toBe(code);
    expect(isDatabaseUnreachable(coded(code))).toBe(true);
  });

  it.each([
    ["a unique violation", coded("23505")],
    ["a syntax error", coded("42601")],
    ["an undefined table", coded("42P01")],
    ["a postgres.js usage error", coded("UNDEFINED_VALUE")],
    ["an error without a code", new Error("boom")],
    ["a code that only looks like class 08", coded("08")],
    ["a string", "ECONNREFUSED"],
    ["null", null],
    ["undefined", undefined],
  ])("says nothing of %s", (_what, error) => {
    expect(unreachableReason(error)).toBeUndefined();
    expect(isDatabaseUnreachable(error)).toBe(false);
  });

  it("looks through causes and aggregate errors", () => {
    const wrapped = new Error("reconcile failed", {
      cause: new Error("query failed", { cause: coded("ECONNRESET") }),
    });
    expect(unreachableReason(wrapped)).toBe("ECONNRESET");
    const everyAddress = new AggregateError(
      [coded("EADDRNOTAVAIL"), coded("ECONNREFUSED")],
      "connect failed",
    );
    expect(unreachableReason(everyAddress)).toBe("ECONNREFUSED");
  });

  it("leaves alone a failed fetch, whose refused connection is another service's", async () => {
    const failed = await fetch("http://127.0.0.1:1/").catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(TypeError);
    expect(unreachableReason(failed)).toBeUndefined();
    expect(unreachableReason(new Error("publish failed", { cause: failed }))).toBeUndefined();
  });

  it("gives up on a cycle of causes", () => {
    const a: Error & { cause?: unknown } = new Error("a");
    const b = new Error("b", { cause: a });
    a.cause = b;
    expect(unreachableReason(a)).toBeUndefined();
  });
});

describe("what postgres.js really throws", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  const failureOf = async (run: () => Promise<unknown>): Promise<unknown> => {
    try {
      await run();
    } catch (error) {
      return error;
    }
    throw new Error("expected a failure");
  };

  it("is unreachable when nothing listens", async () => {
    const sql = connectDatabase("postgres://postgres@127.0.0.1:1/postgres", { max: 1 });
    try {
      expect(unreachableReason(await failureOf(() => sql`select 1`))).toBe("ECONNREFUSED");
    } finally {
      await sql.end({ timeout: 0 });
    }
  });

  it("is unreachable when the server ends our session mid-query, and after the pool closed", async () => {
    const sql = connectDatabase(db.url, { max: 1, applicationName: "devsim-unreachable-test" });
    const [row] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const sleeping = failureOf(() => sql`select pg_sleep(5)`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await db.sql`select pg_terminate_backend(${row?.pid ?? 0})`;
    expect(isDatabaseUnreachable(await sleeping)).toBe(true);
    // postgres.js may hand the server's farewell (57P01) to the next query on that connection.
    const next = await sql`select 1 as ok`.catch((error: unknown) => error);
    if (next instanceof Error) expect(unreachableReason(next)).toBe("57P01");
    expect(await sql`select 1 as ok`).toEqual([{ ok: 1 }]);
    await sql.end();
    expect(unreachableReason(await failureOf(() => sql`select 1`))).toBe("CONNECTION_ENDED");
  });

  it("is not unreachable for a bad query", async () => {
    expect(isDatabaseUnreachable(await failureOf(() => db.sql`select * from surely_not_here`))).toBe(false);
  });
});
