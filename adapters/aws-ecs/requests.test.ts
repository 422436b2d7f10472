import { describe, expect, test } from "vitest";
import { EcsAdapterConfig } from "./config.ts";
import { createServiceRequest, ecsNames, taskDefinitionRequest } from "./requests.ts";

const target = {
  region: "ap-southeast-2",
  cluster: "apps",
  subnets: ["subnet-0a1b2c3d", "subnet-0e1f2a3b"],
  securityGroups: ["sg-0a1b2c3d"],
  assignPublicIp: true,
  urlPattern: "https://{workload}-r{revision}.example.com",
};
const revision = {
  number: 12,
  image: "ghcr.io/acme/api:12",
  port: 3000,
  healthPath: "/ready?deep=1&who='ecs'",
  sim: null,
};

describe("ECS request bodies", () => {
  test("names carry the workload and revision", () => {
    expect(ecsNames("api", 12)).toEqual({ family: "devsim-api-r12", service: "devsim-api-r12" });
  });

  test("roles, size and a log group go into the task definition when configured", () => {
    const config = EcsAdapterConfig.parse({
      targets: [target],
      cpu: 512,
      memory: 2048,
      executionRoleArn: "arn:aws:iam::123456789012:role/exec",
      taskRoleArn: "arn:aws:iam::123456789012:role/task",
      logGroup: "/devsim/api",
    });
    const body = taskDefinitionRequest(config, config.targets[0] ?? target, "api", revision);
    expect(body).toMatchObject({
      family: "devsim-api-r12",
      cpu: "512",
      memory: "2048",
      executionRoleArn: "arn:aws:iam::123456789012:role/exec",
      taskRoleArn: "arn:aws:iam::123456789012:role/task",
    });
    expect(body.containerDefinitions?.[0]?.logConfiguration).toEqual({
      logDriver: "awslogs",
      options: {
        "awslogs-group": "/devsim/api",
        "awslogs-region": "ap-southeast-2",
        "awslogs-stream-prefix": "api",
      },
    });
  });

  test("without roles or logs, the task definition names none", () => {
    const config = EcsAdapterConfig.parse({ targets: [target] });
    const body = taskDefinitionRequest(config, config.targets[0] ?? target, "api", revision);
    expect(body).not.toHaveProperty("executionRoleArn");
    expect(body).not.toHaveProperty("taskRoleArn");
    expect(body.containerDefinitions?.[0]).not.toHaveProperty("logConfiguration");
  });

  test("the health check hands the path to curl as one argument, with no shell in between", () => {
    const config = EcsAdapterConfig.parse({ targets: [target] });
    const body = taskDefinitionRequest(config, config.targets[0] ?? target, "api", revision);
    expect(body.containerDefinitions?.[0]?.healthCheck?.command).toEqual([
      "CMD",
      "curl",
      "-fsS",
      "-o",
      "/dev/null",
      "http://localhost:3000/ready?deep=1&who='ecs'",
    ]);
  });

  test("the service takes the target's cluster, subnets, groups and public IP setting", () => {
    const body = createServiceRequest(target, "api", 12, 0);
    expect(body).toMatchObject({
      cluster: "apps",
      serviceName: "devsim-api-r12",
      taskDefinition: "devsim-api-r12",
      desiredCount: 0,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ["subnet-0a1b2c3d", "subnet-0e1f2a3b"],
          securityGroups: ["sg-0a1b2c3d"],
          assignPublicIp: "ENABLED",
        },
      },
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
    });
    const open = createServiceRequest({ ...target, securityGroups: [], assignPublicIp: false }, "api", 12, 1);
    expect(open.networkConfiguration?.awsvpcConfiguration).toEqual({
      subnets: ["subnet-0a1b2c3d", "subnet-0e1f2a3b"],
      assignPublicIp: "DISABLED",
    });
  });
});
