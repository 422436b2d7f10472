import { KubeConfig } from "@kubernetes/client-node";
import { z } from "zod";
import { AdapterError } from "#core";

/** How to reach one cluster: what AKS, GKE and DOKS hand over. */
export interface ClusterAccess {
  readonly name: string;
  /** The API server's URL, `https://...`. */
  readonly server: string;
  /** The cluster's CA certificate, base64 PEM. */
  readonly caData?: string;
  /** Accept any server certificate, or plain http (tests against a plain-http fake). */
  readonly skipTLSVerify?: boolean;
  /** Bearer token, fetched for every request (GKE, DOKS); the source caches as it sees fit. */
  readonly token?: () => Promise<string>;
  /** Client certificate and key, base64 PEM; AKS user credentials may carry these. */
  readonly clientCertificateData?: string;
  readonly clientKeyData?: string;
  /** A whole kubeconfig YAML (AKS and DOKS hand one out); when present the other fields but `name` are ignored. */
  readonly kubeconfig?: string;
}
/** Finds the cluster that serves a region and how to reach it. */
export type ClusterResolver = (region: string) => Promise<ClusterAccess>;

const Base64 = z.base64();

const CheckedAccess = z
  .object({
    name: z.string().min(1),
    server: z.string(),
    caData: Base64.optional(),
    skipTLSVerify: z.boolean().optional(),
    token: z.custom<() => Promise<string>>((v) => typeof v === "function", "must be a function").optional(),
    clientCertificateData: Base64.optional(),
    clientKeyData: Base64.optional(),
    kubeconfig: z.string().min(1).optional(),
  })
  .superRefine((access, ctx) => {
    if (access.kubeconfig !== undefined) return;
    if (!URL.canParse(access.server) || !/^https?:$/.test(new URL(access.server).protocol)) {
      ctx.addIssue({ code: "custom", path: ["server"], message: "must be an http(s) URL" });
    } else if (new URL(access.server).protocol === "http:" && access.skipTLSVerify !== true) {
      ctx.addIssue({ code: "custom", path: ["server"], message: "plain http needs skipTLSVerify: true" });
    }
    if ((access.clientCertificateData === undefined) !== (access.clientKeyData === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["clientKeyData"],
        message: "a client certificate and its key come together",
      });
    }
  });

/** The auth provider name that marks a user whose bearer token comes from `ClusterAccess.token`. */
const TOKEN_PROVIDER = "devsim-token";
const USER = "devsim";

type Authenticator = Parameters<KubeConfig["addAuthenticator"]>[0];

/**
 * Sets `Authorization: Bearer <token>` on every request from a token fetched for that request, so
 * a token that changes (GKE access tokens last an hour) is always the current one. Token sources
 * cache as they see fit.
 */
const tokenAuthenticator = (token: () => Promise<string>, cloud: string, cluster: string): Authenticator => ({
  isAuthProvider: (user) => user.authProvider?.name === TOKEN_PROVIDER,
  applyAuthentication: async (_user, opts) => {
    let value: string;
    try {
      value = await token();
    } catch (error) {
      if (error instanceof AdapterError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new AdapterError("unauthorized", cloud, `cluster ${cluster}: could not get a token: ${reason}`, {
        cause: error,
      });
    }
    opts.headers = { ...opts.headers, Authorization: `Bearer ${value}` };
  },
});

const invalid = (cloud: string, cluster: string, problem: string, cause?: unknown): AdapterError =>
  new AdapterError("invalid", cloud, `cluster ${cluster}: bad access: ${problem}`, { cause });

/**
 * The client configuration for one cluster. A kubeconfig, when given, is used as it is (its current
 * context); otherwise one cluster, one user (bearer token from `token`, client certificate, or
 * both) and one context are built from the other fields. Throws AdapterError `invalid` for access
 * that cannot work.
 */
export const kubeConfigFor = (access: ClusterAccess, cloud: string): KubeConfig => {
  const label = typeof access.name === "string" && access.name !== "" ? access.name : "(unnamed)";
  const checked = CheckedAccess.safeParse(access);
  if (!checked.success) throw invalid(cloud, label, z.prettifyError(checked.error), checked.error);
  const a = checked.data;
  const config = new KubeConfig();

  if (a.kubeconfig !== undefined) {
    try {
      config.loadFromString(a.kubeconfig);
    } catch (error) {
      throw invalid(
        cloud,
        label,
        `kubeconfig: ${error instanceof Error ? error.message : String(error)}`,
        error,
      );
    }
    const server = config.getCurrentCluster()?.server;
    if (!server)
      throw invalid(cloud, label, "kubeconfig: its current context names no cluster with a server");
    if (server.startsWith("http:") && config.getCurrentCluster()?.skipTLSVerify !== true) {
      throw invalid(cloud, label, "kubeconfig: plain http needs insecure-skip-tls-verify: true");
    }
    return config;
  }

  config.loadFromOptions({
    clusters: [{ name: a.name, server: a.server, caData: a.caData, skipTLSVerify: a.skipTLSVerify ?? false }],
    users: [
      {
        name: USER,
        certData: a.clientCertificateData,
        keyData: a.clientKeyData,
        authProvider: a.token ? { name: TOKEN_PROVIDER, config: {} } : undefined,
      },
    ],
    contexts: [{ name: a.name, cluster: a.name, user: USER }],
    currentContext: a.name,
  });
  if (a.token) config.addAuthenticator(tokenAuthenticator(a.token, cloud, a.name));
  return config;
};
