import { z } from "zod";
import { RetryPolicy } from "#core";

/** CPU as Kubernetes writes it: cores (`0.5`, `2`) or millicores (`250m`). */
const Cpu = z
  .string()
  .regex(/^([0-9]+(\.[0-9]+)?|[0-9]+m)$/, "must be a CPU quantity such as '250m' or '0.5'");

/** Memory as Kubernetes writes it: bytes with an optional binary or decimal suffix (`128Mi`, `1G`). */
const Memory = z
  .string()
  .regex(/^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$/, "must be a memory quantity such as '128Mi' or '1Gi'");

/** The placeholders an endpoint pattern may use, each filled in per deployment. */
export const ENDPOINT_PLACEHOLDERS = [
  "service",
  "namespace",
  "port",
  "workload",
  "revision",
  "region",
  "cluster",
] as const;
export type EndpointPlaceholder = (typeof ENDPOINT_PLACEHOLDERS)[number];

/** Fills `{placeholder}`s in `pattern`; placeholders without a value stay as they are. */
export const fillEndpointPattern = (
  pattern: string,
  values: Readonly<Record<EndpointPlaceholder, string>>,
): string =>
  pattern.replace(/\{([a-z]+)\}/g, (whole, name: string) =>
    (ENDPOINT_PLACEHOLDERS as readonly string[]).includes(name) ? values[name as EndpointPlaceholder] : whole,
  );

const SAMPLE: Readonly<Record<EndpointPlaceholder, string>> = {
  service: "shop-r1",
  namespace: "devsim-shop",
  port: "8080",
  workload: "shop",
  revision: "1",
  region: "westeurope",
  cluster: "aks-westeurope",
};

/**
 * A URL template for routers outside the cluster, e.g. `https://{service}.{region}.apps.example.com`;
 * it must name only known placeholders and give an http(s) URL once they are filled in.
 */
const EndpointPattern = z
  .string()
  .min(1)
  .superRefine((pattern, ctx) => {
    for (const [, name] of pattern.matchAll(/\{([^}]*)\}/g)) {
      if (!(ENDPOINT_PLACEHOLDERS as readonly string[]).includes(name ?? "")) {
        ctx.addIssue({
          code: "custom",
          message: `unknown placeholder '{${name}}'; use ${ENDPOINT_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`,
        });
        return;
      }
    }
    const filled = fillEndpointPattern(pattern, SAMPLE);
    if (!URL.canParse(filled) || !/^https?:$/.test(new URL(filled).protocol)) {
      ctx.addIssue({
        code: "custom",
        message: "must give an http(s) URL once its placeholders are filled in",
      });
    }
  });

/**
 * The serialisable part of the Kubernetes layer's options: what a configuration file may set per
 * cloud. Every field has a default.
 */
export const KubernetesSettings = z.strictObject({
  /** Each workload gets the namespace `<prefix><workload>`; workload names have up to 40 characters. */
  namespacePrefix: z
    .string()
    .max(22)
    .regex(/^([a-z][a-z0-9-]*)?$/, "must start a DNS label: lowercase letters, digits and '-'")
    .default("devsim-"),
  /** Requests and limits of the container; a limit left out is not set. */
  resources: z
    .strictObject({
      requests: z
        .strictObject({ cpu: Cpu.optional(), memory: Memory.optional() })
        .prefault({ cpu: "100m", memory: "128Mi" }),
      limits: z
        .strictObject({ cpu: Cpu.optional(), memory: Memory.optional() })
        .prefault({ memory: "256Mi" }),
    })
    .prefault({}),
  /**
   * `ClusterIP` (default) gives each revision an in-cluster URL; `LoadBalancer` asks the cloud for an
   * address and reports the URL once the Service has one.
   */
  serviceType: z.enum(["ClusterIP", "LoadBalancer"]).default("ClusterIP"),
  /** A URL template that replaces the Service's own address, for routers outside the cluster. */
  endpointPattern: EndpointPattern.optional(),
  /** After this long without progress a rollout counts as failed (`ProgressDeadlineExceeded`). */
  progressDeadlineSeconds: z.int().min(1).max(86_400).default(600),
  /** The field manager named in every server-side apply. */
  fieldManager: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\x20-\x7e]+$/, "must be printable ASCII")
    .default("devsim"),
  /** Limit on each API call, body included, in ms. */
  timeoutMs: z.int().min(1).max(600_000).default(10_000),
  /** How throttled, failing, silent or conflicting calls are retried; see `RetryPolicy`. */
  retry: RetryPolicy.prefault({}),
});
export type KubernetesSettings = z.output<typeof KubernetesSettings>;
export type KubernetesSettingsInput = z.input<typeof KubernetesSettings>;
