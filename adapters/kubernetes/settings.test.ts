import { describe, expect, test } from "vitest";
import { fillEndpointPattern, KubernetesSettings } from "./settings.ts";

describe("KubernetesSettings", () => {
  test("every field has a default", () => {
    expect(KubernetesSettings.parse({})).toEqual({
      namespacePrefix: "devsim-",
      resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
      serviceType: "ClusterIP",
      progressDeadlineSeconds: 600,
      fieldManager: "devsim",
      timeoutMs: 10_000,
      retry: { attempts: 5, budgetMs: 10_000, baseMs: 100, maxMs: 2_000 },
    });
  });

  test("a configuration file's values come through", () => {
    const parsed = KubernetesSettings.parse({
      namespacePrefix: "",
      resources: { requests: { cpu: "0.25", memory: "64Mi" }, limits: { cpu: "1", memory: "1G" } },
      serviceType: "LoadBalancer",
      endpointPattern: "https://{service}.{region}.apps.example.com",
      retry: { attempts: 2 },
    });
    expect(parsed).toMatchObject({
      namespacePrefix: "",
      resources: { requests: { cpu: "0.25", memory: "64Mi" }, limits: { cpu: "1", memory: "1G" } },
      serviceType: "LoadBalancer",
      endpointPattern: "https://{service}.{region}.apps.example.com",
      retry: { attempts: 2, budgetMs: 10_000 },
    });
  });

  test.each([
    [{ namespacePrefix: "Devsim-" }, "namespacePrefix"],
    [{ namespacePrefix: "x".repeat(23) }, "namespacePrefix"],
    [{ resources: { requests: { cpu: "lots" } } }, "resources.requests.cpu"],
    [{ resources: { limits: { memory: "1 GB" } } }, "resources.limits.memory"],
    [{ serviceType: "NodePort" }, "serviceType"],
    [{ endpointPattern: "https://{pod}.example.com" }, "unknown placeholder '{pod}'"],
    [{ endpointPattern: "ftp://{service}.example.com" }, "http(s) URL"],
    [{ endpointPattern: "{service}" }, "http(s) URL"],
    [{ progressDeadlineSeconds: 0 }, "progressDeadlineSeconds"],
    [{ fieldManager: "" }, "fieldManager"],
    [{ retry: { attempts: 0 } }, "retry.attempts"],
    [{ replicas: 3 }, "replicas"],
  ])("refuses %j, naming %s", (input, named) => {
    const result = KubernetesSettings.safeParse(input);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(named.split(".").at(-1));
  });
});

describe("fillEndpointPattern", () => {
  test("fills known placeholders and leaves others alone", () => {
    const values = {
      service: "s",
      namespace: "n",
      port: "1",
      workload: "w",
      revision: "2",
      region: "r",
      cluster: "c",
    };
    expect(fillEndpointPattern("http://{service}-{revision}.{region}/{other}", values)).toBe(
      "http://s-2.r/{other}",
    );
  });
});
