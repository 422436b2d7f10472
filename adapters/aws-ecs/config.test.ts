import { describe, expect, test } from "vitest";
import { z } from "zod";
import { EcsAdapterConfig, type EcsAdapterConfigInput, FARGATE_SIZES, renderUrl } from "./config.ts";

const target = {
  region: "eu-west-1",
  cluster: "devsim",
  subnets: ["subnet-0a1b2c3d"],
  urlPattern: "https://{workload}-r{revision}.{region}.example.com",
};

const problems = (input: EcsAdapterConfigInput): string => {
  const parsed = EcsAdapterConfig.safeParse(input);
  if (parsed.success) throw new Error("expected the config to be refused");
  return z.prettifyError(parsed.error);
};

describe("ECS configuration", () => {
  test("defaults: 0.25 vCPU, 512 MiB, no public IP, no security groups, 10 s calls, default retries", () => {
    expect(EcsAdapterConfig.parse({ targets: [target] })).toEqual({
      targets: [{ ...target, securityGroups: [], assignPublicIp: false }],
      cpu: 256,
      memory: 512,
      timeoutMs: 10_000,
      retry: { attempts: 5, budgetMs: 10_000, baseMs: 100, maxMs: 2_000 },
    });
  });

  test("a complete configuration is kept as given", () => {
    const full: EcsAdapterConfigInput = {
      targets: [
        { ...target, securityGroups: ["sg-0a1b2c3d"], assignPublicIp: true },
        { ...target, region: "us-east-1", cluster: "devsim-east" },
      ],
      cpu: 1024,
      memory: 3072,
      executionRoleArn: "arn:aws:iam::123456789012:role/devsim-task-execution",
      taskRoleArn: "arn:aws:iam::123456789012:role/devsim-task",
      logGroup: "/devsim/workloads",
      profile: "prod",
      endpoint: "https://ecs.eu-west-1.amazonaws.com",
      timeoutMs: 5_000,
      retry: { attempts: 3 },
    };
    expect(EcsAdapterConfig.parse(full)).toMatchObject({ ...full, retry: { attempts: 3, budgetMs: 10_000 } });
  });

  test("the task size must be one Fargate offers", () => {
    expect(problems({ targets: [target], cpu: 300 })).toMatch(/256, 512, 1024[\s\S]*at cpu/);
    expect(problems({ targets: [target], cpu: 256, memory: 4096 })).toMatch(/512–2048 MiB[\s\S]*at memory/);
    for (const [cpu, memories] of Object.entries(FARGATE_SIZES)) {
      for (const memory of memories) {
        expect(EcsAdapterConfig.safeParse({ targets: [target], cpu: Number(cpu), memory }).success).toBe(
          true,
        );
      }
    }
    expect(FARGATE_SIZES[4096]).toHaveLength(23);
    expect(FARGATE_SIZES[16384]?.at(-1)).toBe(122_880);
  });

  test("targets: at least one, regions unique, ids well formed", () => {
    expect(problems({ targets: [] })).toContain("targets");
    expect(problems({ targets: [target, { ...target, cluster: "other" }] })).toContain(
      "duplicate region eu-west-1",
    );
    expect(problems({ targets: [{ ...target, region: "Europe" }] })).toContain("AWS region");
    expect(problems({ targets: [{ ...target, subnets: [] }] })).toContain("subnets");
    expect(problems({ targets: [{ ...target, subnets: ["vpc-0a1b2c3d"] }] })).toContain("subnet id");
    expect(problems({ targets: [{ ...target, securityGroups: ["default"] }] })).toContain(
      "security group id",
    );
    expect(problems({ targets: [{ ...target, cluster: "my cluster" }] })).toContain("cluster name");
  });

  test("the URL pattern must tell workloads and revisions apart and give a URL", () => {
    const withPattern = (urlPattern: string) => problems({ targets: [{ ...target, urlPattern }] });
    expect(withPattern("https://{workload}.example.com")).toContain("must contain {revision}");
    expect(withPattern("https://r{revision}.example.com")).toContain("must contain {workload}");
    expect(withPattern("https://{workload}-{rev}.example.com")).toContain("unknown placeholder {rev}");
    expect(withPattern("{workload}-{revision}")).toContain("must give an http(s) URL");
  });

  test("logs need an execution role; unknown fields are refused", () => {
    expect(problems({ targets: [target], logGroup: "/devsim" })).toContain("executionRoleArn");
    expect(problems({ targets: [target], taskRoleArn: "devsim-task" })).toContain("IAM role ARN");
    expect(problems({ targets: [target], clusterName: "x" } as EcsAdapterConfigInput)).toContain(
      "clusterName",
    );
  });

  test("renderUrl fills every placeholder, escaping values", () => {
    expect(
      renderUrl("https://{workload}-r{revision}.{region}.example.com/{cluster}/{service}", {
        workload: "shop",
        revision: "7",
        region: "eu-west-1",
        cluster: "a b",
        service: "devsim-shop-r7",
      }),
    ).toBe("https://shop-r7.eu-west-1.example.com/a%20b/devsim-shop-r7");
  });
});
