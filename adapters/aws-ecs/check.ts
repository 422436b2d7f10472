import { DescribeClustersCommand } from "@aws-sdk/client-ecs";
import { z } from "zod";
import { AdapterError } from "#core";
import { type AwsCredentials, createEcsApi } from "./client.ts";
import { EcsAdapterConfig, type EcsAdapterConfigInput, type EcsTargetConfig } from "./config.ts";
import { ecsErrorCode } from "./errors.ts";

/** One line of `devsim clouds check`: a target and, when it is not right, what is wrong and the fix. */
export interface EcsCheckResult {
  readonly target: string;
  readonly ok: boolean;
  readonly problem?: string;
  readonly fix?: string;
}

const label = (where: EcsTargetConfig): string => `aws ${where.region} (cluster ${where.cluster})`;

const createCluster = (where: EcsTargetConfig): string =>
  `create it (aws ecs create-cluster --cluster-name ${where.cluster} --region ${where.region}) or name an existing cluster in the target's 'cluster'`;

/** The fix for credentials AWS refused, by the error code it answered. */
const credentialsFix = (code: string | undefined): string => {
  switch (code) {
    case "CredentialsProviderError":
      return "give AWS credentials: AWS_PROFILE (or 'profile' in the config), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, 'aws sso login', or run with an IAM role";
    case "AccessDeniedException":
    case "AccessDenied":
      return "allow the ECS actions listed in docs/clouds/aws-ecs.md (ecs:DescribeClusters among them) to this identity";
    case "ExpiredToken":
    case "ExpiredTokenException":
    case "RequestExpired":
      return "the session has expired: get new credentials ('aws sso login', or a new STS session) and check the machine's clock";
    default:
      return "the access key or secret key is wrong: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile's keys";
  }
};

/** What a failed DescribeClusters says about a target. */
const diagnose = (where: EcsTargetConfig, error: AdapterError): EcsCheckResult => {
  const problem = error.message;
  switch (error.failure) {
    case "unauthorized":
      return { target: label(where), ok: false, problem, fix: credentialsFix(ecsErrorCode(error)) };
    case "not_found":
      return { target: label(where), ok: false, problem, fix: createCluster(where) };
    case "throttled":
      return {
        target: label(where),
        ok: false,
        problem,
        fix: "the account is being throttled: try again in a minute",
      };
    case "unavailable":
    case "timeout":
      return {
        target: label(where),
        ok: false,
        problem,
        fix: `check network access to the ECS API of ${where.region} (proxy, firewall, VPC endpoint) or the 'endpoint' setting`,
      };
    default:
      return { target: label(where), ok: false, problem, fix: "check the target's region and cluster" };
  }
};

/**
 * Checks every configured ECS target: are the credentials accepted, and does the cluster exist and
 * is it ACTIVE? One DescribeClusters per target; never throws for what it finds wrong.
 */
export const checkEcs = async (
  config: EcsAdapterConfigInput,
  options: { readonly credentials?: AwsCredentials } = {},
): Promise<EcsCheckResult[]> => {
  const parsed = EcsAdapterConfig.safeParse(config);
  if (!parsed.success) {
    return [
      {
        target: "aws",
        ok: false,
        problem: `bad ECS configuration: ${z.prettifyError(parsed.error)}`,
        fix: "correct the fields named above",
      },
    ];
  }
  const { data } = parsed;
  const api = createEcsApi({
    endpoint: data.endpoint,
    profile: data.profile,
    credentials: options.credentials,
    timeoutMs: data.timeoutMs,
    retry: data.retry,
  });
  try {
    return await Promise.all(
      data.targets.map(async (where): Promise<EcsCheckResult> => {
        try {
          const out = await api.call(where.region, "DescribeClusters", (client) =>
            client.send(new DescribeClustersCommand({ clusters: [where.cluster] })),
          );
          const status = out.clusters?.find((c) => c.clusterName === where.cluster)?.status;
          if (status === "ACTIVE") return { target: label(where), ok: true };
          const problem = status
            ? `cluster ${where.cluster} is ${status} in ${where.region}`
            : `cluster ${where.cluster} does not exist in ${where.region}`;
          return { target: label(where), ok: false, problem, fix: createCluster(where) };
        } catch (error) {
          if (error instanceof AdapterError) return diagnose(where, error);
          throw error;
        }
      }),
    );
  } finally {
    api.destroy();
  }
};
