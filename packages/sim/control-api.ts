import { type Context, Hono } from "hono";
import { requestId } from "hono/request-id";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DevsimError, type ErrorCode } from "#core";
import type { SimDeploymentKey, SimDeploymentStatus } from "./deployment.ts";
import { SimFaultInput } from "./faults.ts";
import {
  checkKnownRegion,
  knownCloud,
  parseOrThrow,
  SimDeploySpec,
  SimRevisionParam,
  SimScaleBody,
  SimWorkload,
} from "./schemas.ts";
import type { SimWorld } from "./world.ts";

const STATUS_BY_CODE: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
};

const errorBody = (code: string, message: string, details: object = {}) => ({
  error: { code, message, details },
});

/** Checks the path's cloud and region exist before anything else, so a wrong place is always a 404. */
const deploymentKey = (c: Context): SimDeploymentKey => {
  const cloud = knownCloud(c.req.param("cloud") ?? "");
  const region = c.req.param("region") ?? "";
  checkKnownRegion(cloud, region);
  return {
    cloud,
    region,
    workload: parseOrThrow(SimWorkload, c.req.param("workload"), "workload"),
    revision: parseOrThrow(SimRevisionParam, c.req.param("revision"), "revision"),
  };
};

const jsonBody = async (c: Context): Promise<unknown> => {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DevsimError("invalid_input", "invalid body: not JSON", {
      issues: [{ field: "body", message: error instanceof Error ? error.message : "not JSON" }],
    });
  }
};

const notFoundDeployment = (key: SimDeploymentKey): DevsimError =>
  new DevsimError(
    "not_found",
    `deployment of revision ${key.revision} of '${key.workload}' not found in ${key.cloud}/${key.region}`,
    { resource: "deployment", ...key },
  );

const statusJson = (s: SimDeploymentStatus) => ({
  desiredReplicas: s.desiredReplicas,
  readyReplicas: s.readyReplicas,
  url: s.url,
});

/** The cloud and, when the path names one, the region that a `/v1/clouds/...` call concerns. */
const placeOf = (path: string): { cloud: string; region: string | null } => {
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  const [, , , cloud = "", regions, region] = path.split("/").map(decode);
  return { cloud, region: regions === "regions" && region ? region : null };
};

/** The simulated clouds' control API: what the sim adapter talks to, as real adapters talk to a cloud. */
export const createSimControlApp = (world: SimWorld): Hono => {
  const app = new Hono();
  app.use(requestId());

  // Cloud API faults hit the cloud's own routes only, never /v1/sim/faults: a fault can always be lifted.
  app.use("/v1/clouds/*", async (c, next) => {
    const { cloud, region } = placeOf(c.req.path);
    for (let fault = world.apiFault(cloud, region); fault; fault = world.apiFault(cloud, region)) {
      if (fault.type === "api-throttle") {
        c.header("retry-after", String(fault.value ?? 1));
        const where = region ? `${cloud}/${region}` : cloud;
        return c.json(
          errorBody("throttled", `rate exceeded for ${where}; slow down`, { cloud, region }),
          429,
        );
      }
      // api-timeout: no answer until the client gives up, or the fault ends and the call goes through.
      const hangUp = Promise.withResolvers<void>();
      c.req.raw.signal.addEventListener("abort", () => hangUp.resolve(), { once: true });
      await Promise.race([world.faultEnded(fault.id), hangUp.promise]);
      // Nobody reads this answer: the connection is gone. It only ends the handler.
      if (c.req.raw.signal.aborted) return c.json(errorBody("unavailable", "the client gave up"), 503);
    }
    await next();
  });

  app.get("/v1/clouds/:cloud/regions", (c) =>
    c.json({ regions: world.regions(knownCloud(c.req.param("cloud"))) }),
  );

  const path = "/v1/clouds/:cloud/regions/:region/workloads/:workload/revisions/:revision";

  app.put(path, async (c) => {
    const key = deploymentKey(c);
    const spec = parseOrThrow(SimDeploySpec, await jsonBody(c), "body");
    const { created, status } = await world.deploy(key, spec);
    return c.json(statusJson(status), created ? 201 : 200);
  });

  app.get(path, (c) => {
    const key = deploymentKey(c);
    const info = world.describe(key);
    if (!info) throw notFoundDeployment(key);
    return c.json(statusJson(info));
  });

  app.patch(path, async (c) => {
    const key = deploymentKey(c);
    const { replicas } = parseOrThrow(SimScaleBody, await jsonBody(c), "body");
    const status = world.scale(key, replicas);
    if (!status) throw notFoundDeployment(key);
    return c.json(statusJson(status));
  });

  app.delete(path, async (c) => {
    const key = deploymentKey(c);
    if (!(await world.remove(key))) throw notFoundDeployment(key);
    return c.body(null, 204);
  });

  app.post("/v1/sim/faults", async (c) => {
    const input = parseOrThrow(SimFaultInput, await jsonBody(c), "body");
    return c.json(await world.addFault(input), 201);
  });

  app.get("/v1/sim/faults", (c) => c.json({ faults: world.faults() }));

  app.delete("/v1/sim/faults/:id", async (c) => {
    const id = c.req.param("id");
    if (!(await world.removeFault(id))) {
      throw new DevsimError("not_found", `fault '${id}' not found`, { resource: "fault", id });
    }
    return c.body(null, 204);
  });

  app.get("/v1/deployments", (c) =>
    c.json({
      deployments: world.list().map((d) => ({
        cloud: d.cloud,
        region: d.region,
        workload: d.workload,
        revision: d.revision,
        image: d.image,
        ...statusJson(d),
      })),
    }),
  );

  app.notFound((c) =>
    c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`, { resource: "route" }), 404),
  );

  app.onError((error, c) => {
    if (error instanceof DevsimError) {
      return c.json(errorBody(error.code, error.message, error.details), STATUS_BY_CODE[error.code] ?? 500);
    }
    return c.json(errorBody("internal", "internal error"), 500);
  });

  return app;
};
