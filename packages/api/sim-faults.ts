import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { DevsimError } from "#core";
import { SimFault, SimFaultInput } from "#sim";
import { ErrorSchema, errorResponses, jsonBody, jsonResponse } from "./schemas.ts";

/** Limit on one call to the simulator's control API, which answers fault calls at once. */
const FORWARD_TIMEOUT_MS = 5_000;

const FaultSchema = SimFault.meta({ id: "SimFault" });
const FaultIdParam = z.object({ id: z.string().min(1).max(64) });

/** The codes the simulator answers with share our statuses, so its errors pass through unchanged. */
const SimErrorCode = z.enum(["invalid_input", "not_found", "conflict", "unavailable", "internal"]);

const createRouteDef = createRoute({
  method: "post",
  path: "/v1/sim/faults",
  tags: ["sim"],
  summary:
    "Inject a fault into the simulated clouds: outage, latency, errors, lost capacity, API throttling or timeouts",
  request: { body: jsonBody(SimFaultInput.meta({ id: "SimFaultInput" })) },
  responses: { 201: jsonResponse(FaultSchema, "the fault, now in force"), ...errorResponses(400, 404, 503) },
});

const listRouteDef = createRoute({
  method: "get",
  path: "/v1/sim/faults",
  tags: ["sim"],
  summary: "The faults in force, oldest first",
  responses: {
    200: jsonResponse(z.object({ faults: z.array(FaultSchema) }), "faults in force"),
    ...errorResponses(503),
  },
});

const deleteRouteDef = createRoute({
  method: "delete",
  path: "/v1/sim/faults/{id}",
  tags: ["sim"],
  summary:
    "Lift a fault: its effects end at once, and servers of an out region listen again at the same URLs",
  request: { params: FaultIdParam },
  responses: { 204: { description: "lifted" }, ...errorResponses(404, 503) },
});

interface SimReply {
  readonly status: number;
  readonly body: unknown;
}

/** Turns what the simulator said into our error, so the one error mapping gives the same status and body. */
const simError = (reply: SimReply): DevsimError => {
  const parsed = ErrorSchema.safeParse(reply.body);
  const code = parsed.success ? SimErrorCode.safeParse(parsed.data.error.code) : undefined;
  if (parsed.success && code?.success) {
    return new DevsimError(code.data, parsed.data.error.message, parsed.data.error.details);
  }
  return new DevsimError("unavailable", `the simulator answered HTTP ${reply.status} unexpectedly`, {
    status: reply.status,
  });
};

/**
 * Routes that manage the simulated clouds' faults, present only when the clouds are simulated. The
 * simulator's control API at `simUrl` holds the faults; these routes check input with the same
 * schema and pass calls on.
 */
export const mountSimFaultRoutes = (app: OpenAPIHono, simUrl: string): void => {
  const base = simUrl.replace(/\/+$/, "");

  const forward = async (method: string, path: string, body?: unknown): Promise<SimReply> => {
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text === "" ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed };
    } catch (error) {
      throw new DevsimError("unavailable", `the simulator at ${base} is unreachable`, {}, { cause: error });
    }
  };

  /** A success must look as the simulator promises; anything else means it misbehaved. */
  const answerOf = <S extends z.ZodType>(schema: S, reply: SimReply): z.output<S> => {
    const parsed = schema.safeParse(reply.body);
    if (parsed.success) return parsed.data;
    throw new DevsimError("unavailable", "the simulator gave an unexpected answer", {
      status: reply.status,
    });
  };

  app.openapi(createRouteDef, async (c) => {
    const reply = await forward("POST", "/v1/sim/faults", c.req.valid("json"));
    if (reply.status !== 201) throw simError(reply);
    return c.json(answerOf(FaultSchema, reply), 201);
  });

  app.openapi(listRouteDef, async (c) => {
    const reply = await forward("GET", "/v1/sim/faults");
    if (reply.status !== 200) throw simError(reply);
    return c.json(answerOf(z.object({ faults: z.array(FaultSchema) }), reply), 200);
  });

  app.openapi(deleteRouteDef, async (c) => {
    const reply = await forward("DELETE", `/v1/sim/faults/${encodeURIComponent(c.req.valid("param").id)}`);
    if (reply.status !== 204) throw simError(reply);
    return c.body(null, 204);
  });
};
