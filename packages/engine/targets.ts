import type { DeploymentTarget, RevisionSpec } from "#adapters";
import { type Cloud, notFound, type Workload } from "#core";
import { type Db, findRevision } from "#store";

export const deploymentTarget = (
  workload: Pick<Workload, "name">,
  at: { readonly cloud: Cloud; readonly region: string },
): DeploymentTarget => ({ workload: workload.name, cloud: at.cloud, region: at.region });

/** What the adapters need to run a revision of a workload. */
export const revisionSpec = async (
  db: Db,
  workload: Pick<Workload, "id" | "name">,
  number: number,
): Promise<RevisionSpec> => {
  const revision = await findRevision(db, workload.id, number);
  if (!revision) throw notFound("revision", `${workload.name}#${number}`);
  return {
    number,
    image: revision.image,
    port: revision.port,
    healthPath: revision.healthCheck.path,
    sim: revision.sim,
  };
};
