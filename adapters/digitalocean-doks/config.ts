import { z } from "zod";
import {
  managedKubernetesSettings,
  NodePoolCapacities,
  refineClusterChoice,
  servedRegions,
} from "../managed-kubernetes/index.ts";

/** A DigitalOcean region slug, e.g. `nyc3`, `fra1`. */
export const RegionSlug = z.string().regex(/^[a-z]{3}[0-9]$/, "a region slug such as 'nyc3'");

export const DoksCluster = z
  .strictObject({
    /** The region slug this cluster serves; the cluster's own `region` is checked against it. */
    region: RegionSlug,
    /** The cluster's id (UUID) or, instead, its name. */
    id: z.uuid().optional(),
    name: z.string().min(1).max(255).optional(),
  })
  .refine((c) => (c.id === undefined) !== (c.name === undefined), {
    message: "give the cluster's id or its name",
    path: ["id"],
  });
export type DoksCluster = z.infer<typeof DoksCluster>;

/** HTTPS, or plain HTTP on this machine only: the token is never sent in clear over a network. */
const ApiUrl = z.url().refine((url) => {
  const { protocol, hostname } = new URL(url);
  return (
    protocol === "https:" || (protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(hostname))
  );
}, "must be https (plain http only on 127.0.0.1 or localhost)");

export const DoksConfig = z
  .strictObject({
    /**
     * A personal access token with the scopes `kubernetes:read` and `kubernetes:access_cluster`,
     * and `kubernetes:update` to resize node pools
     * (https://docs.digitalocean.com/reference/api/scopes/); `DIGITALOCEAN_ACCESS_TOKEN` when absent.
     */
    token: z.string().min(1).optional(),
    /** The clusters to use, one per region. */
    clusters: z.array(DoksCluster).default([]),
    /** Instead of `clusters`: the region slugs to serve, each by the account's one cluster there. */
    regions: z.array(RegionSlug).default([]),
    /** By region: the node pool (name or id) a scale grows to fit its replicas (never shrunk). */
    capacity: NodePoolCapacities,
    apiUrl: ApiUrl.default("https://api.digitalocean.com"),
    /** How long the cluster credentials handed out stay valid, in seconds (DigitalOcean's default: 7 days). */
    credentialsExpirySeconds: z.int().min(60).max(2_592_000).default(3_600),
    ...managedKubernetesSettings,
  })
  .superRefine(refineClusterChoice);
export type DoksConfig = z.infer<typeof DoksConfig>;
export type DoksConfigInput = z.input<typeof DoksConfig>;

/** The regions a configuration serves. */
export const doksRegions = (config: DoksConfig): string[] => servedRegions(config);
