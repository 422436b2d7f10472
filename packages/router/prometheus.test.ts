import { describe, expect, it } from "vitest";
import { OutcomeCounters } from "./outcomes.ts";
import { renderOutcomeMetrics } from "./prometheus.ts";

const key = { workload: "shop", cloud: "aws" as const, region: "us-east-1", revision: 2 };

describe("renderOutcomeMetrics", () => {
  it("renders counters and a cumulative histogram per backend", () => {
    const counters = new OutcomeCounters({ bucketBoundsMs: [10, 100] });
    counters.record(key, 200, 4);
    counters.record(key, 503, 50);
    counters.record(key, 200, 500);
    const text = renderOutcomeMetrics(counters.snapshot());
    const labels = 'workload="shop",cloud="aws",region="us-east-1",revision="2"';
    expect(text).toContain(`devsim_router_requests_total{${labels}} 3`);
    expect(text).toContain(`devsim_router_server_errors_total{${labels}} 1`);
    expect(text).toContain(`devsim_router_latency_seconds_bucket{${labels},le="0.01"} 1`);
    expect(text).toContain(`devsim_router_latency_seconds_bucket{${labels},le="0.1"} 2`);
    expect(text).toContain(`devsim_router_latency_seconds_bucket{${labels},le="+Inf"} 3`);
    expect(text).toContain(`devsim_router_latency_seconds_sum{${labels}} 0.554`);
    expect(text).toContain(`devsim_router_latency_seconds_count{${labels}} 3`);
    expect(text).toContain("# TYPE devsim_router_latency_seconds histogram");
  });

  it("renders only the headers when nothing was counted", () => {
    const text = renderOutcomeMetrics(new OutcomeCounters().snapshot());
    expect(text.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual([]);
  });

  it("escapes label values", () => {
    const counters = new OutcomeCounters();
    counters.record({ ...key, region: 'we"ird\\' }, 200, 1);
    expect(renderOutcomeMetrics(counters.snapshot())).toContain('region="we\\"ird\\\\"');
  });
});
