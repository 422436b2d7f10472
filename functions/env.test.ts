import { describe, expect, it } from "vitest";
import { readFunctionEnv } from "./env.ts";

const complete = {
  DATABASE_URL: "postgres://user@db.example.com:5432/devsim",
  UPSTASH_REDIS_REST_URL: "https://eu1-example.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: "secret",
  DEVSIM_SIM_URL: "https://sim.example.com",
};

describe("readFunctionEnv", () => {
  it("accepts a complete environment", () => {
    expect(readFunctionEnv(complete)).toEqual({ ...complete, LOG_LEVEL: "info" });
  });

  it("names every missing or malformed variable at once", () => {
    const { UPSTASH_REDIS_REST_TOKEN: _, ...missing } = complete;
    expect(() => readFunctionEnv({ ...missing, DATABASE_URL: "mysql://nope" })).toThrow(
      /DATABASE_URL: .*; UPSTASH_REDIS_REST_TOKEN: /,
    );
  });
});
