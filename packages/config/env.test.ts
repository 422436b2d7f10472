import { describe, expect, it } from "vitest";
import { readDeployedEnv } from "./env.ts";

const complete = {
  DATABASE_URL: "postgres://user@db.example.com:5432/devsim",
  UPSTASH_REDIS_REST_URL: "https://eu1-example.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: "secret",
  DEVSIM_SIM_URL: "https://sim.example.com",
};

describe("readDeployedEnv", () => {
  it("accepts a complete environment", () => {
    expect(readDeployedEnv(complete)).toEqual({
      ...complete,
      LOG_LEVEL: "info",
      DATABASE_POOL_SIZE: 2,
      DEVSIM_KV_PREFIX: "",
    });
  });

  it("names every missing or malformed variable at once", () => {
    const { UPSTASH_REDIS_REST_TOKEN: _, ...missing } = complete;
    expect(() => readDeployedEnv({ ...missing, DATABASE_URL: "mysql://nope" })).toThrow(
      /DATABASE_URL: .*; UPSTASH_REDIS_REST_TOKEN: /,
    );
  });
});
