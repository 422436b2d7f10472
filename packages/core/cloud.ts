import { z } from "zod";

/** The clouds a target may live in. */
export const CLOUDS = ["aws", "azure", "gcp", "digitalocean"] as const;
export const Cloud = z.enum(CLOUDS);
export type Cloud = z.infer<typeof Cloud>;

/** The regions the simulator offers; each has the name the real cloud uses. */
export const SIM_REGIONS: Readonly<Record<Cloud, readonly string[]>> = {
  aws: ["us-east-1", "eu-west-1"],
  azure: ["eastus", "westeurope"],
  gcp: ["us-central1", "europe-west1"],
  digitalocean: ["nyc3", "fra1"],
};
