import { z } from "zod";
import type { RawReader } from "../../../adapters/contract.ts";
import type { DeploymentTarget } from "../../../adapters/port.ts";
import type { FakeKubernetes } from "../kubernetes.ts";

const RawDeployment = z.object({
  metadata: z.object({
    labels: z.record(z.string(), z.string()).optional(),
    deletionTimestamp: z.string().optional(),
  }),
  spec: z.object({
    replicas: z.int(),
    template: z.object({ spec: z.object({ containers: z.array(z.object({ image: z.string() })).min(1) }) }),
  }),
});

/**
 * The contract's raw reads of devsim's Deployments in the fake serving each target, found by their
 * labels (`app.kubernetes.io/name`, `devsim.dev/revision`). A Deployment being deleted counts as
 * gone: its deletion can no longer be undone.
 */
export const devsimRawReader = (fakeFor: (target: DeploymentTarget) => FakeKubernetes): RawReader => {
  const live = (target: DeploymentTarget) =>
    fakeFor(target)
      .objects("Deployment")
      .map((d) => RawDeployment.parse(d))
      .filter(
        (d) =>
          d.metadata.labels?.["app.kubernetes.io/name"] === target.workload && !d.metadata.deletionTimestamp,
      );
  return {
    async readDeployment(target, revision) {
      const found = live(target).filter(
        (d) => d.metadata.labels?.["devsim.dev/revision"] === String(revision),
      );
      if (found.length > 1) throw new Error(`${found.length} deployments of revision ${revision}`);
      const d = found[0];
      return d ? { image: d.spec.template.spec.containers[0]?.image ?? "", replicas: d.spec.replicas } : null;
    },
    async countDeployments(target) {
      return live(target).length;
    },
  };
};
