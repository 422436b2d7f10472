import { describe, expect, test } from "vitest";
import { AdapterError } from "#core";
import { type ClusterAccess, kubeConfigFor } from "./cluster-access.ts";

const pem = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").toString("base64");

const failureOf = (access: ClusterAccess): AdapterError => {
  try {
    kubeConfigFor(access, "azure");
  } catch (error) {
    if (error instanceof AdapterError) return error;
    throw error;
  }
  throw new Error("expected kubeConfigFor to refuse the access");
};

describe("kubeConfigFor", () => {
  test("builds one cluster, one user and one context from the fields", () => {
    const config = kubeConfigFor(
      {
        name: "aks-westeurope",
        server: "https://aks-westeurope.hcp.westeurope.azmk8s.io:443",
        caData: pem,
        clientCertificateData: pem,
        clientKeyData: pem,
      },
      "azure",
    );
    expect(config.getCurrentCluster()).toEqual({
      name: "aks-westeurope",
      server: "https://aks-westeurope.hcp.westeurope.azmk8s.io:443",
      caData: pem,
      skipTLSVerify: false,
    });
    expect(config.getCurrentUser()).toMatchObject({ certData: pem, keyData: pem, authProvider: undefined });
  });

  test("a token source marks the user for the per-request token", () => {
    const config = kubeConfigFor(
      { name: "gke", server: "https://34.0.0.1", caData: pem, token: async () => "ya29.token" },
      "gcp",
    );
    expect(config.getCurrentUser()?.authProvider).toEqual({ name: "devsim-token", config: {} });
    expect(config.getCurrentUser()?.token).toBeUndefined();
  });

  test("a kubeconfig wins over the other fields", () => {
    const kubeconfig = [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: do-fra1-shop",
      "  cluster:",
      "    server: https://1234.k8s.ondigitalocean.com",
      `    certificate-authority-data: ${pem}`,
      "users:",
      "- name: do-fra1-shop-admin",
      "  user:",
      "    token: dop_v1_abc",
      "contexts:",
      "- name: do-fra1-shop",
      "  context:",
      "    cluster: do-fra1-shop",
      "    user: do-fra1-shop-admin",
      "current-context: do-fra1-shop",
    ].join("\n");
    const config = kubeConfigFor(
      { name: "doks-fra1", server: "https://ignored.example.com", kubeconfig },
      "digitalocean",
    );
    expect(config.getCurrentCluster()?.server).toBe("https://1234.k8s.ondigitalocean.com");
    expect(config.getCurrentUser()?.token).toBe("dop_v1_abc");
  });

  test.each<[string, ClusterAccess, string]>([
    ["a server that is not a URL", { name: "c", server: "not a url" }, "server"],
    ["plain http without skipTLSVerify", { name: "c", server: "http://10.0.0.1" }, "skipTLSVerify"],
    ["a CA that is not base64", { name: "c", server: "https://10.0.0.1", caData: "%%%" }, "caData"],
    [
      "a certificate without its key",
      { name: "c", server: "https://10.0.0.1", clientCertificateData: pem },
      "certificate and its key",
    ],
    ["no name", { name: "", server: "https://10.0.0.1" }, "name"],
    ["a kubeconfig that is not YAML", { name: "c", server: "", kubeconfig: "clusters: [" }, "kubeconfig"],
    [
      "a kubeconfig without a current cluster",
      {
        name: "c",
        server: "",
        kubeconfig: "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
      },
      "current context",
    ],
  ])("refuses %s as invalid, saying why", (_what, access, named) => {
    const error = failureOf(access);
    expect(error).toMatchObject({ failure: "invalid", cloud: "azure" });
    expect(error.message).toContain(named);
  });
});
