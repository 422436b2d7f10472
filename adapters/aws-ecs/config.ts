import { z } from "zod";
import { RetryPolicy } from "#core";

/** The placeholders an endpoint pattern may use; `{workload}` and `{revision}` are required. */
export const URL_PLACEHOLDERS = ["workload", "revision", "region", "cluster", "service"] as const;
export type UrlPlaceholder = (typeof URL_PLACEHOLDERS)[number];

/** Fills an endpoint pattern such as `https://{workload}-r{revision}.{region}.example.com`. */
export const renderUrl = (pattern: string, values: Readonly<Record<UrlPlaceholder, string>>): string =>
  pattern.replace(/\{([a-z]+)\}/g, (whole, name: string) => {
    const placeholder = URL_PLACEHOLDERS.find((p) => p === name);
    return placeholder ? encodeURIComponent(values[placeholder]) : whole;
  });

const UrlPattern = z
  .string()
  .min(1)
  .max(2048)
  .superRefine((pattern, ctx) => {
    for (const name of pattern.matchAll(/\{([^}]*)\}/g)) {
      if (!URL_PLACEHOLDERS.some((p) => p === name[1])) {
        ctx.addIssue({
          code: "custom",
          message: `unknown placeholder {${name[1]}}; use ${URL_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`,
        });
      }
    }
    // Each revision is its own backend, so the URL must tell revisions and workloads apart.
    for (const required of ["{workload}", "{revision}"]) {
      if (!pattern.includes(required)) ctx.addIssue({ code: "custom", message: `must contain ${required}` });
    }
    const sample = renderUrl(pattern, {
      workload: "shop",
      revision: "1",
      region: "us-east-1",
      cluster: "devsim",
      service: "devsim-shop-r1",
    });
    if (!z.url({ protocol: /^https?$/ }).safeParse(sample).success) {
      ctx.addIssue({ code: "custom", message: `must give an http(s) URL; gave '${sample}'` });
    }
  });

/** Where one AWS region's deployments run: the cluster, its network, and how their URLs are formed. */
export const EcsTargetConfig = z.strictObject({
  /** AWS region, e.g. `us-east-1`. */
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as 'us-east-1'"),
  /** Name of an existing ECS cluster in the region. */
  cluster: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, "must be a cluster name (letters, digits, '-', '_')"),
  /** Subnets the tasks get their network interfaces in (awsvpc). */
  subnets: z
    .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id"))
    .min(1)
    .max(16),
  securityGroups: z
    .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, "must be a security group id"))
    .max(5)
    .default([]),
  /** Give tasks public IPs: needed in public subnets without a NAT gateway to pull images. */
  assignPublicIp: z.boolean().default(false),
  /**
   * How each deployment is reached, since an ECS service has no URL of its own: e.g.
   * `https://{workload}-r{revision}.{region}.example.com`, served by the load balancer or
   * service discovery set up beside the cluster.
   */
  urlPattern: UrlPattern,
});
export type EcsTargetConfig = z.infer<typeof EcsTargetConfig>;

/**
 * The task sizes Fargate accepts, CPU units → memory in MiB
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size).
 */
const range = (from: number, to: number, step: number): number[] =>
  Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
export const FARGATE_SIZES: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};

const RoleArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, "must be an IAM role ARN");

export const EcsAdapterConfig = z
  .strictObject({
    /** One entry per region deployments may go to. */
    targets: z.array(EcsTargetConfig).min(1),
    /** Task CPU units. Default 256 (0.25 vCPU). */
    cpu: z.int().default(256),
    /** Task memory in MiB. Default 512. */
    memory: z.int().default(512),
    /** Role ECS uses to pull private images and write logs; needed for ECR images and `logGroup`. */
    executionRoleArn: RoleArn.optional(),
    /** Role the containers run as. */
    taskRoleArn: RoleArn.optional(),
    /** CloudWatch Logs group for the containers' output (awslogs driver), in each target's region. */
    logGroup: z
      .string()
      .regex(/^[\w#./-]{1,512}$/)
      .optional(),
    /** Named profile of the shared AWS config files; default the SDK's default credential chain. */
    profile: z.string().min(1).optional(),
    /** ECS API endpoint to use instead of AWS's, for tests or a VPC endpoint. */
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    /** Limit on each ECS API call, in ms. Default 10 000. */
    timeoutMs: z.int().min(1).max(600_000).default(10_000),
    /** How throttled, failing or silent calls are retried; see `RetryPolicy`. */
    retry: RetryPolicy.prefault({}),
  })
  .superRefine((config, ctx) => {
    const sizes = FARGATE_SIZES[config.cpu];
    if (!sizes) {
      ctx.addIssue({
        code: "custom",
        path: ["cpu"],
        message: `must be one of ${Object.keys(FARGATE_SIZES).join(", ")} (Fargate CPU units)`,
      });
    } else if (!sizes.includes(config.memory)) {
      ctx.addIssue({
        code: "custom",
        path: ["memory"],
        message: `Fargate gives ${config.cpu} CPU units ${sizes[0]}–${sizes.at(-1)} MiB in steps of ${(sizes[1] ?? 0) - (sizes[0] ?? 0)}`,
      });
    }
    if (config.logGroup && !config.executionRoleArn) {
      ctx.addIssue({ code: "custom", path: ["executionRoleArn"], message: "is needed to write to logGroup" });
    }
    config.targets.forEach((target, i) => {
      if (config.targets.findIndex((t) => t.region === target.region) !== i) {
        ctx.addIssue({
          code: "custom",
          path: ["targets", i, "region"],
          message: `duplicate region ${target.region}`,
        });
      }
    });
  });
export type EcsAdapterConfig = z.infer<typeof EcsAdapterConfig>;
export type EcsAdapterConfigInput = z.input<typeof EcsAdapterConfig>;
