import { OpenAPIHono } from "@hono/zod-openapi";
import { routePath } from "hono/route";
import type { ApiDeps } from "./deps.ts";
import { notFoundResponse, toErrorResponse, validationError } from "./errors.ts";
import { mountRolloutRoutes } from "./rollouts.ts";
import { mountSimFaultRoutes } from "./sim-faults.ts";
import { mountWatchRoute } from "./watch.ts";
import { mountWorkloadRoutes } from "./workloads.ts";

/**
 * The control plane's HTTP API: REST under /v1, health and metrics at the root, and an OpenAPI
 * document generated from the same schemas that validate requests.
 */
export const createApi = (deps: ApiDeps): OpenAPIHono => {
  const app = new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success)
        throw validationError(result.error, result.target === "json" ? "body" : result.target);
    },
  });

  app.use(async function metrics(c, next) {
    const started = performance.now();
    await next();
    deps.metrics.observeRequest(
      c.req.method,
      routePath(c, -1),
      c.res.status,
      (performance.now() - started) / 1000,
    );
  });

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) =>
    (await deps.ready())
      ? c.json({ status: "ready" })
      : c.json({ error: { code: "unavailable", message: "the database is unreachable", details: {} } }, 503),
  );
  app.get("/metrics", async (c) => {
    c.header("content-type", deps.metrics.registry.contentType);
    return c.body((await deps.metrics.registry.metrics()) + ((await deps.extraMetrics?.()) ?? ""));
  });

  mountWorkloadRoutes(app, deps);
  mountRolloutRoutes(app, deps);
  mountWatchRoute(app, deps);
  if (deps.simUrl) mountSimFaultRoutes(app, deps.simUrl);

  app.doc31("/v1/openapi.json", {
    openapi: "3.1.0",
    info: { title: "DevOps Simulator API", version: "1" },
  });
  app.notFound(notFoundResponse);
  app.onError(toErrorResponse);
  return app;
};
