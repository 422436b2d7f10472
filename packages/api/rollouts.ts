import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { notFound, RolloutInput } from "#core";
import {
  abortRollout,
  pauseRollout,
  promoteRollout,
  resumeRollout,
  rollbackWorkload,
  startRollout,
} from "#engine";
import {
  findRollout,
  findWorkload,
  listAnalysis,
  listBackends,
  listRolloutEvents,
  listRollouts,
} from "#store";
import type { ApiDeps } from "./deps.ts";
import {
  EventPageQuery,
  EventSchema,
  errorResponses,
  IdParam,
  jsonBody,
  jsonResponse,
  NameParam,
  PromoteBody,
  RolloutDetailSchema,
  RolloutSchema,
} from "./schemas.ts";
import { eventView, rolloutView, trafficView } from "./views.ts";

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

const rollbackRouteDef = createRoute({
  method: "post",
  path: "/v1/workloads/{name}/rollback",
  tags: ["rollouts"],
  summary:
    "Roll back: a rollout in flight returns traffic to stable at once; otherwise the last revision that succeeded is rolled out without pauses or analysis",
  request: { params: NameParam },
  responses: {
    202: jsonResponse(RolloutSchema, "the rollout that rolls back"),
    ...errorResponses(400, 404, 409),
  },
});

const getRouteDef = createRoute({
  method: "get",
  path: "/v1/rollouts/{id}",
  tags: ["rollouts"],
  summary: "Read a rollout: its steps, the current step, current weights and the analysis history",
  request: { params: IdParam },
  responses: { 200: jsonResponse(RolloutDetailSchema, "the rollout"), ...errorResponses(400, 404) },
});

const eventsRouteDef = createRoute({
  method: "get",
  path: "/v1/rollouts/{id}/events",
  tags: ["rollouts"],
  summary: "A rollout's events in order, a page at a time: pass the last id you saw as `after`",
  request: { params: IdParam, query: EventPageQuery },
  responses: {
    200: jsonResponse(z.object({ events: z.array(EventSchema), next: z.int().nullable() }), "events"),
    ...errorResponses(400, 404),
  },
});

const controlResponses = {
  200: jsonResponse(RolloutSchema, "the rollout after the change"),
  ...errorResponses(400, 404, 409),
};

const promoteRouteDef = createRoute({
  method: "post",
  path: "/v1/rollouts/{id}/promote",
  tags: ["rollouts"],
  summary:
    "Skip the pause or analysis the rollout waits at; `full` skips every one left. 409 while the workload is failed over or recovering",
  request: {
    params: IdParam,
    body: { required: false, content: { "application/json": { schema: PromoteBody } } },
  },
  responses: controlResponses,
});

const controlRoute = (action: "pause" | "resume" | "abort", summary: string) =>
  createRoute({
    method: "post",
    path: `/v1/rollouts/{id}/${action}`,
    tags: ["rollouts"],
    summary,
    request: { params: IdParam },
    responses: controlResponses,
  });

/** Routes for starting, steering and reading rollouts. */
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

  app.openapi(rollbackRouteDef, async (c) =>
    c.json(rolloutView(await rollbackWorkload(deps, c.req.valid("param").name)), 202),
  );

  app.openapi(getRouteDef, async (c) => {
    const { id } = c.req.valid("param");
    const rollout = await findRollout(deps.sql, id);
    if (!rollout) throw notFound("rollout", id);
    const [backends, analysis] = await Promise.all([
      listBackends(deps.sql, rollout.workloadId),
      listAnalysis(deps.sql, id),
    ]);
    const detail = {
      ...rolloutView(rollout),
      weights: trafficView(backends).backends,
      analysis: analysis.map((a) => ({ ...a, evidence: { ...a.evidence } })),
    };
    return c.json(detail, 200);
  });

  app.openapi(eventsRouteDef, async (c) => {
    const { id } = c.req.valid("param");
    const { after, limit } = c.req.valid("query");
    if (!(await findRollout(deps.sql, id))) throw notFound("rollout", id);
    const events = await listRolloutEvents(deps.sql, id, { afterId: after ?? 0, limit });
    const last = events.at(-1);
    return c.json(
      {
        events: events.map(eventView),
        next: events.length === limit && last ? last.id : null,
      },
      200,
    );
  });

  app.openapi(promoteRouteDef, async (c) => {
    const { id } = c.req.valid("param");
    // Without a JSON body the validator has nothing to check, and the defaults apply.
    const body = PromoteBody.parse(c.req.valid("json") ?? {});
    return c.json(rolloutView(await promoteRollout(deps, id, body)), 200);
  });
  app.openapi(controlRoute("pause", "Stop a rollout where it is"), async (c) =>
    c.json(rolloutView(await pauseRollout(deps, c.req.valid("param").id)), 200),
  );
  app.openapi(controlRoute("resume", "Carry on a paused rollout"), async (c) =>
    c.json(rolloutView(await resumeRollout(deps, c.req.valid("param").id)), 200),
  );
  app.openapi(controlRoute("abort", "End a rollout and put all traffic back on stable at once"), async (c) =>
    c.json(rolloutView(await abortRollout(deps, c.req.valid("param").id)), 200),
  );
};
