import type { CreateServiceCommandInput, RegisterTaskDefinitionCommandInput, Tag } from "@aws-sdk/client-ecs";
import type { RevisionSpec } from "../port.ts";
import type { EcsAdapterConfig, EcsTargetConfig } from "./config.ts";

/** Tags on every task definition and service the adapter creates, so they can be found and audited. */
export const ECS_TAGS = {
  workload: "devsim:workload",
  revision: "devsim:revision",
  managedBy: "devsim:managed-by",
} as const;

export const CONTAINER_NAME = "app";

/** The ECS names of one revision of one workload: its task definition family and its service. */
export const ecsNames = (workload: string, revision: number): { family: string; service: string } => {
  const name = `devsim-${workload}-r${revision}`;
  return { family: name, service: name };
};

const tags = (workload: string, revision: number): Tag[] => [
  { key: ECS_TAGS.workload, value: workload },
  { key: ECS_TAGS.revision, value: String(revision) },
  { key: ECS_TAGS.managedBy, value: "devsim" },
];

/**
 * How ECS checks a container's health: `curl -f` of the health path inside the task, so the image
 * needs curl. The exec form passes the path to curl as one argument, never through a shell.
 * Limits: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html
 */
export const HEALTH_CHECK = { interval: 10, timeout: 5, retries: 3, startPeriod: 15 } as const;

/** RegisterTaskDefinition for one revision: one Fargate container with its port and health check. */
export const taskDefinitionRequest = (
  config: EcsAdapterConfig,
  target: EcsTargetConfig,
  workload: string,
  revision: RevisionSpec,
): RegisterTaskDefinitionCommandInput => ({
  family: ecsNames(workload, revision.number).family,
  requiresCompatibilities: ["FARGATE"],
  networkMode: "awsvpc",
  cpu: String(config.cpu),
  memory: String(config.memory),
  ...(config.executionRoleArn ? { executionRoleArn: config.executionRoleArn } : {}),
  ...(config.taskRoleArn ? { taskRoleArn: config.taskRoleArn } : {}),
  containerDefinitions: [
    {
      name: CONTAINER_NAME,
      image: revision.image,
      essential: true,
      portMappings: [{ containerPort: revision.port, protocol: "tcp", name: "http", appProtocol: "http" }],
      healthCheck: {
        command: [
          "CMD",
          "curl",
          "-fsS",
          "-o",
          "/dev/null",
          `http://localhost:${revision.port}${revision.healthPath}`,
        ],
        ...HEALTH_CHECK,
      },
      ...(config.logGroup
        ? {
            logConfiguration: {
              logDriver: "awslogs",
              options: {
                "awslogs-group": config.logGroup,
                "awslogs-region": target.region,
                "awslogs-stream-prefix": workload,
              },
            },
          }
        : {}),
    },
  ],
  tags: tags(workload, revision.number),
});

/**
 * CreateService for one revision in one region. The task definition is named by family, so ECS uses
 * its latest revision; the deployment circuit breaker stops (and rolls back) a revision whose tasks
 * keep failing to start
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html).
 */
export const createServiceRequest = (
  target: EcsTargetConfig,
  workload: string,
  revision: number,
  replicas: number,
): CreateServiceCommandInput => {
  const names = ecsNames(workload, revision);
  return {
    cluster: target.cluster,
    serviceName: names.service,
    taskDefinition: names.family,
    desiredCount: replicas,
    launchType: "FARGATE",
    schedulingStrategy: "REPLICA",
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: [...target.subnets],
        // Left out, ECS uses the VPC's default security group.
        ...(target.securityGroups.length > 0 ? { securityGroups: [...target.securityGroups] } : {}),
        assignPublicIp: target.assignPublicIp ? "ENABLED" : "DISABLED",
      },
    },
    deploymentConfiguration: {
      deploymentCircuitBreaker: { enable: true, rollback: true },
      maximumPercent: 200,
      minimumHealthyPercent: 100,
    },
    enableECSManagedTags: true,
    propagateTags: "SERVICE",
    tags: tags(workload, revision),
  };
};
