import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { connectDatabase, databaseIsReachable } from "./connect.ts";

/** A TCP server that accepts connections and never says a word, like a wedged database. */
const startSilentServer = async (): Promise<{ url: string; close(): Promise<void> }> => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("expected a TCP address");
  return {
    url: `postgres://postgres@127.0.0.1:${address.port}/postgres`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

describe("connectDatabase", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it("connects with the application name and pool size asked for", async () => {
    const sql = connectDatabase(db.url, { max: 3, applicationName: "devsim-connect-test" });
    try {
      const [row] = await sql`select current_setting('application_name') as name, current_database() as db`;
      expect(row).toEqual({ name: "devsim-connect-test", db: new URL(db.url).pathname.slice(1) });
      expect(sql.options.max).toBe(3);
    } finally {
      await sql.end();
    }
  });

  it("keeps notices out of the console", async () => {
    const notices: unknown[] = [];
    const sql = connectDatabase(db.url);
    const original = console.log;
    console.log = (...args: unknown[]) => notices.push(args);
    try {
      await sql`drop table if exists surely_not_here`;
    } finally {
      console.log = original;
      await sql.end();
    }
    expect(notices).toEqual([]);
  });
});

describe("databaseIsReachable", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it("is true for a live database", async () => {
    expect(await databaseIsReachable(db.sql, 2_000)).toBe(true);
  });

  it("is false, within the timeout, for a server that never answers", async () => {
    const silent = await startSilentServer();
    const sql = connectDatabase(silent.url, { max: 1 });
    try {
      const started = performance.now();
      expect(await databaseIsReachable(sql, 300)).toBe(false);
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1_500);
    } finally {
      await silent.close();
      await sql.end({ timeout: 0 });
    }
  });

  it("is false when nothing listens and after the pool is closed", async () => {
    const gone = connectDatabase("postgres://postgres@127.0.0.1:1/postgres", { max: 1 });
    expect(await databaseIsReachable(gone, 2_000)).toBe(false);
    await gone.end({ timeout: 0 });

    const closed = connectDatabase(db.url, { max: 1 });
    await closed.end();
    expect(await databaseIsReachable(closed, 2_000)).toBe(false);
  });
});
