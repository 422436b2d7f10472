import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { notFound, WorkloadInput, WorkloadUpdate } from "#core";
import { createWorkload, deleteWorkload, readTargetHealth, updateWorkload } from "#engine";
import { findWorkload, listBackends, listWorkloads, readRoutingTable } from "#store";
import type { ApiDeps } from "./deps.ts";
import {
  jsonBody as body,
  errorResponses,
  jsonResponse as json,
  NameParam,
  TrafficSchema,
  WorkloadCreatedSchema,
  WorkloadHealthSchema,
  WorkloadSchema,
} from "./schemas.ts";
import { rolloutView, trafficView, workloadView } from "./views.ts";

const createRouteDef = createRoute({
  method: "post",
  path: "/v1/workloads",
  tags: ["workloads"],
  summary: "Create a workload and deploy its first revision to every target",
  request: { body: body(WorkloadInput.meta({ id: "WorkloadInput" })) },
  responses: {
    201: json(WorkloadCreatedSchema, "created; the first rollout is under way"),
    ...errorResponses(400, 409),
  },
});

const listRouteDef = createRoute({
  method: "get",
  path: "/v1/workloads",
  tags: ["workloads"],
  summary: "List workloads",
  responses: { 200: json(z.object({ workloads: z.array(WorkloadSchema) }), "every live workload") },
});

const getRouteDef = createRoute({
  method: "get",
  path: "/v1/workloads/{name}",
  tags: ["workloads"],
  summary: "Read a workload",
  request: { params: NameParam },
  responses: { 200: json(WorkloadSchema, "the workload"), ...errorResponses(400, 404) },
});

const putRouteDef = createRoute({
  method: "put",
  path: "/v1/workloads/{name}",
  tags: ["workloads"],
  summary: "Replace a workload's spec; a changed image, config or targets starts a rollout",
  request: { params: NameParam, body: body(WorkloadUpdate.meta({ id: "WorkloadUpdate" })) },
  responses: { 200: json(WorkloadCreatedSchema, "updated"), ...errorResponses(400, 404, 409) },
});

const deleteRouteDef = createRoute({
  method: "delete",
  path: "/v1/workloads/{name}",
  tags: ["workloads"],
  summary: "Delete a workload: traffic stops at once, its deployments are removed in the background",
  request: { params: NameParam },
  responses: { 204: { description: "deleted" }, ...errorResponses(400, 404) },
});

const trafficRouteDef = createRoute({
  method: "get",
  path: "/v1/workloads/{name}/traffic",
  tags: ["workloads"],
  summary:
    "Where the workload's traffic goes now, as routers get it (a failed-over target's share is elsewhere)",
  request: { params: NameParam },
  responses: { 200: json(TrafficSchema, "backends and their share of traffic"), ...errorResponses(400, 404) },
});

const healthRouteDef = createRoute({
  method: "get",
  path: "/v1/workloads/{name}/health",
  tags: ["workloads"],
  summary:
    "Each target's health (healthy, unhealthy, recovering or unknown), its share of traffic and when it was last probed",
  request: { params: NameParam },
  responses: { 200: json(WorkloadHealthSchema, "the workload's targets"), ...errorResponses(400, 404) },
});

/** Routes under /v1/workloads. */
export const mountWorkloadRoutes = (app: OpenAPIHono, deps: ApiDeps): void => {
  const load = async (name: string) => {
    const w = await findWorkload(deps.sql, name);
    if (!w) throw notFound("workload", name);
    return w;
  };

  app.openapi(createRouteDef, async (c) => {
    const { workload, rollout } = await createWorkload(deps, c.req.valid("json"));
    return c.json({ ...workloadView(workload), rollout: rollout && rolloutView(rollout) }, 201);
  });

  app.openapi(listRouteDef, async (c) =>
    c.json({ workloads: (await listWorkloads(deps.sql)).map(workloadView) }, 200),
  );

  app.openapi(getRouteDef, async (c) => c.json(workloadView(await load(c.req.valid("param").name)), 200));

  app.openapi(putRouteDef, async (c) => {
    const { workload, rollout } = await updateWorkload(deps, c.req.valid("param").name, c.req.valid("json"));
    return c.json({ ...workloadView(workload), rollout: rollout && rolloutView(rollout) }, 200);
  });

  app.openapi(deleteRouteDef, async (c) => {
    await deleteWorkload(deps, c.req.valid("param").name);
    return c.body(null, 204);
  });

  app.openapi(trafficRouteDef, async (c) => {
    const w = await load(c.req.valid("param").name);
    const [backends, table] = await Promise.all([
      listBackends(deps.sql, w.id),
      readRoutingTable(deps.sql, w.id),
    ]);
    return c.json(trafficView(backends, table?.backends ?? []), 200);
  });

  app.openapi(healthRouteDef, async (c) => {
    const w = await load(c.req.valid("param").name);
    return c.json({ targets: await readTargetHealth(deps.sql, w) }, 200);
  });
};
