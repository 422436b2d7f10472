import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { connectDatabase, type Sql } from "../../packages/store/connect.ts";

export interface TestDatabase {
  /** Connection URL of the new database. */
  readonly url: string;
  /** A pool connected to it. */
  readonly sql: Sql;
  /** Closes the pool and drops the database, even while others are still connected. */
  drop(): Promise<void>;
}

const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** Runs one statement on a short-lived admin connection. */
const onAdmin = async (adminUrl: string, run: (admin: postgres.Sql) => Promise<unknown>): Promise<void> => {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await run(admin);
  } finally {
    await admin.end({ timeout: 5 });
  }
};

/**
 * A fresh, randomly named database on the test server, so parallel runs and reruns never see
 * each other's data. Call `drop()` in afterAll.
 */
export const createTestDatabase = async (): Promise<TestDatabase> => {
  const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? DEFAULT_ADMIN_URL;
  const name = `devsim_test_${randomBytes(6).toString("hex")}`;
  await onAdmin(adminUrl, (admin) => admin`create database ${admin(name)}`);

  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const sql = connectDatabase(url.href, { applicationName: "devsim-test" });
  let dropped = false;
  return {
    url: url.href,
    sql,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await sql.end({ timeout: 5 });
      await onAdmin(adminUrl, (admin) => admin`drop database if exists ${admin(name)} with (force)`);
    },
  };
};
