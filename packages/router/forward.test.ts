import { describe, expect, it } from "vitest";
import type { RoutingTable } from "#core";
import { Forwarder } from "./forward.ts";
import { OutcomeCounters } from "./outcomes.ts";
import { type RoutingTableSource, staticTableSource } from "./table-source.ts";

const shop: RoutingTable = {
  workload: "shop",
  version: 1,
  backends: [{ cloud: "aws", region: "us-east-1", revision: 1, weight: 100, url: "http://127.0.0.1:1" }],
};
const url = new URL("http://router.invalid/w/shop/cart?id=1");

describe("Forwarder.route", () => {
  it("routes at once, with no promise, when the source holds the table fresh", () => {
    const route = new Forwarder({ table: staticTableSource([shop]) }).route(url, null);
    expect(route).not.toBeInstanceOf(Promise);
    expect(route).toEqual({ workload: "shop", path: "/cart?id=1", table: shop });
  });

  it("answers a missing table at once too", () => {
    const route = new Forwarder({ table: staticTableSource([]) }).route(url, null);
    expect(route).toMatchObject({ status: 404, code: "not_found", details: { workload: "shop" } });
  });

  it("reads the table when the source cannot tell it fresh, with the same route", async () => {
    const reads: string[] = [];
    const source: RoutingTableSource = {
      get: async (workload) => {
        reads.push(workload);
        return shop;
      },
    };
    const route = new Forwarder({ table: source }).route(url, null);
    expect(route).toBeInstanceOf(Promise);
    expect(await route).toEqual({ workload: "shop", path: "/cart?id=1", table: shop });
    expect(reads).toEqual(["shop"]);
  });

  it("answers 503 when the source fails, whether it rejects or throws", async () => {
    const rejects: RoutingTableSource = { get: () => Promise.reject(new Error("kv down")) };
    const throws: RoutingTableSource = {
      // Were a throwing fresh() to fall back to get(), this table would answer.
      get: async () => shop,
      fresh: () => {
        throw new Error("kv down");
      },
    };
    for (const table of [rejects, throws]) {
      expect(await new Forwarder({ table }).route(url, null)).toMatchObject({
        status: 503,
        code: "unavailable",
        details: { workload: "shop" },
      });
    }
  });
});

describe("Forwarder.forward", () => {
  it("calls done once, with the backend that answered, and counts the attempt", () => {
    const counters = new OutcomeCounters();
    const forwarder = new Forwarder({ table: staticTableSource([shop]), counters });
    const route = { workload: "shop", path: "/", table: shop };
    const results: unknown[] = [];
    forwarder.forward(
      route,
      {
        retryable: true,
        clientGone: () => false,
        attempt: (_backend, _n, settle) => settle({ answered: true, status: 200, response: "ok" }),
      },
      (result) => results.push(result),
    );
    expect(results).toEqual([{ backend: shop.backends[0], response: "ok" }]);
    expect(counters.snapshot().series).toMatchObject([
      { workload: "shop", cloud: "aws", region: "us-east-1", revision: 1, requests: 1, serverErrors: 0 },
    ]);
  });
});
