import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { notFound, RolloutInput } from "#core";
import { startRollout } from "#engine";
import { findRollout, findWorkload, listRollouts } from "#store";
import type { ApiDeps } from "./deps.ts";
import { errorResponses, IdParam, jsonBody, jsonResponse, NameParam, RolloutSchema } from "./schemas.ts";
import { rolloutView } from "./views.ts";

const startRouteDef = createRoute({
  method: "post",
  path: "/v1/workloads/{name}/rollouts",
  tags: ["rollouts"],
  summary: "Roll a workload to a new image",
  request: { params: NameParam, body: jsonBody(RolloutInput.meta({ id: "RolloutInput" })) },
  responses: {
    202: jsonResponse(RolloutSchema, "accepted; the rollout is under way"),
    ...errorResponses(400, 404, 409),
  },
});

const listRouteDef = createRoute({
  method: "get",
  path: "/v1/workloads/{name}/rollouts",
  tags: ["rollouts"],
  summary: "A workload's rollouts, newest first",
  request: { params: NameParam },
  responses: {
    200: jsonResponse(z.object({ rollouts: z.array(RolloutSchema) }), "rollouts"),
    ...errorResponses(400, 404),
  },
});

const getRouteDef = createRoute({
  method: "get",
  path: "/v1/rollouts/{id}",
  tags: ["rollouts"],
  summary: "Read a rollout",
  request: { params: IdParam },
  responses: { 200: jsonResponse(RolloutSchema, "the rollout"), ...errorResponses(400, 404) },
});

/** Routes for starting and reading rollouts. */
export const mountRolloutRoutes = (app: OpenAPIHono, deps: ApiDeps): void => {
  app.openapi(startRouteDef, async (c) => {
    const rollout = await startRollout(deps, c.req.valid("param").name, c.req.valid("json"));
    return c.json(rolloutView(rollout), 202);
  });

  app.openapi(listRouteDef, async (c) => {
    const { name } = c.req.valid("param");
    const w = await findWorkload(deps.sql, name);
    if (!w) throw notFound("workload", name);
    return c.json({ rollouts: (await listRollouts(deps.sql, w.id)).map(rolloutView) }, 200);
  });

  app.openapi(getRouteDef, async (c) => {
    const { id } = c.req.valid("param");
    const rollout = await findRollout(deps.sql, id);
    if (!rollout) throw notFound("rollout", id);
    return c.json(rolloutView(rollout), 200);
  });
};
