import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { ECS_TEST_CREDENTIALS, type EcsFake, startEcsFake } from "../../test/fakes/ecs.ts";
import { deadUrl } from "../../test/support/http-servers.ts";
import { checkEcs } from "./check.ts";
import type { EcsAdapterConfigInput } from "./config.ts";

const target = (region: string, cluster = "devsim") => ({
  region,
  cluster,
  subnets: ["subnet-0a1b2c3d"],
  urlPattern: "https://{workload}-r{revision}.{region}.example.com",
});

describe("checkEcs", () => {
  let fake: EcsFake;
  let config: EcsAdapterConfigInput;

  beforeAll(async () => {
    fake = await startEcsFake({ clusters: { "eu-west-1": ["devsim"], "us-east-1": ["devsim"] } });
    config = {
      targets: [target("eu-west-1"), target("us-east-1"), target("eu-central-1", "gone")],
      endpoint: fake.url,
      timeoutMs: 2_000,
      retry: { attempts: 1 },
    };
  });
  afterAll(async () => {
    await fake?.close();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  test("one line per target: an ACTIVE cluster is ok, a missing or inactive one says how to fix it", async () => {
    fake.setClusterStatus("us-east-1", "devsim", "INACTIVE");
    const results = await checkEcs(config, { credentials: ECS_TEST_CREDENTIALS });
    fake.setClusterStatus("us-east-1", "devsim", "ACTIVE");
    expect(results).toEqual([
      { target: "aws eu-west-1 (cluster devsim)", ok: true },
      {
        target: "aws us-east-1 (cluster devsim)",
        ok: false,
        problem: "cluster devsim is INACTIVE in us-east-1",
        fix: expect.stringContaining("aws ecs create-cluster --cluster-name devsim --region us-east-1"),
      },
      {
        target: "aws eu-central-1 (cluster gone)",
        ok: false,
        problem: "cluster gone does not exist in eu-central-1",
        fix: expect.stringContaining("aws ecs create-cluster --cluster-name gone --region eu-central-1"),
      },
    ]);
    const checks = fake.requests.filter((r) => r.operation === "DescribeClusters").map((r) => r.body);
    expect(checks).toEqual(expect.arrayContaining([{ clusters: ["devsim"] }, { clusters: ["gone"] }]));
  });

  test("a wrong secret key is reported with the keys to check", async () => {
    const results = await checkEcs(
      { ...config, targets: [target("eu-west-1")] },
      { credentials: { ...ECS_TEST_CREDENTIALS, secretAccessKey: "wrong" } },
    );
    expect(results).toEqual([
      {
        target: "aws eu-west-1 (cluster devsim)",
        ok: false,
        problem: expect.stringContaining("InvalidSignatureException"),
        fix: expect.stringContaining("AWS_SECRET_ACCESS_KEY"),
      },
    ]);
  });

  test("an unknown access key is reported likewise", async () => {
    const [result] = await checkEcs(
      { ...config, targets: [target("eu-west-1")] },
      { credentials: { accessKeyId: "AKIDUNKNOWN", secretAccessKey: "x" } },
    );
    expect(result).toMatchObject({
      ok: false,
      problem: expect.stringContaining("UnrecognizedClientException"),
    });
  });

  test("no credentials anywhere in the default chain is reported with where to put them", async () => {
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) {
      vi.stubEnv(name, undefined);
    }
    vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
    vi.stubEnv("AWS_CONFIG_FILE", "/nonexistent/config");
    vi.stubEnv("AWS_EC2_METADATA_DISABLED", "true");
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", undefined);
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_FULL_URI", undefined);
    vi.stubEnv("AWS_WEB_IDENTITY_TOKEN_FILE", undefined);
    const from = fake.requests.length;
    const [result] = await checkEcs({ ...config, targets: [target("eu-west-1")] });
    expect(result).toMatchObject({
      ok: false,
      problem: expect.stringContaining("CredentialsProviderError"),
      fix: expect.stringContaining("AWS_PROFILE"),
    });
    expect(fake.requests.length).toBe(from);
  });

  test("a policy without ecs:DescribeClusters is reported with the permissions to grant", async () => {
    const denying = await startEcsFake({ clusters: { "eu-west-1": ["devsim"] } });
    denying.deny(["DescribeClusters"]);
    const [result] = await checkEcs(
      { ...config, endpoint: denying.url, targets: [target("eu-west-1")] },
      { credentials: ECS_TEST_CREDENTIALS },
    );
    await denying.close();
    expect(result).toMatchObject({
      ok: false,
      problem: expect.stringContaining("not authorized to perform: ecs:DescribeClusters"),
      fix: expect.stringContaining("docs/clouds/aws-ecs.md"),
    });
  });

  test("an API that cannot be reached is reported with the network to check", async () => {
    const [result] = await checkEcs(
      { ...config, endpoint: await deadUrl(), targets: [target("eu-west-1")] },
      { credentials: ECS_TEST_CREDENTIALS },
    );
    expect(result).toMatchObject({
      ok: false,
      problem: expect.stringContaining("ECONNREFUSED"),
      fix: expect.stringContaining("network access to the ECS API of eu-west-1"),
    });
  });

  test("a configuration that does not parse is one line naming the field", async () => {
    expect(await checkEcs({ targets: [{ ...target("eu-west-1"), subnets: [] }] })).toEqual([
      {
        target: "aws",
        ok: false,
        problem: expect.stringMatching(/bad ECS configuration[\s\S]*targets\[0\]\.subnets/),
        fix: "correct the fields named above",
      },
    ]);
  });
});
