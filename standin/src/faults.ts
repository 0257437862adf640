/**
 * Injected failures for the HTTP routes, so callers' error handling (statuses, timeouts,
 * malformed bodies) can be tested against the stand-in. Pure bookkeeping; the server applies them.
 */
import { errors, fail, ok, type Result } from "./api-errors.js";
import * as v from "./validate.js";

export const FAULT_ROUTES = [
  "client_secrets",
  "calls",
  "hangup",
  "live_sessions",
  /** The sideband's WebSocket upgrade (`/v1/live/sessions/{id}/attach`). */
  "live_sideband",
] as const;
export const FAULT_KINDS = ["status", "hang", "garbage", "delay"] as const;
/** The longest `delay` a fault may ask for: a minute, longer than any caller's timeout here. */
export const MAX_DELAY_MS = 60_000;
export type FaultRoute = (typeof FAULT_ROUTES)[number];

/**
 * One injected failure, applied to the next `count` matching requests:
 * - `status`: answer `status` with OpenAI's error body for it, naming `code` and `param` when
 *   given (a refusal of one field of the request, e.g. 400 `invalid_offer`);
 * - `hang`: never answer (the caller's timeout must fire);
 * - `garbage`: answer 200 with `body` (default: a non-JSON page);
 * - `delay`: hold the request `ms` milliseconds, then serve it as usual (a slow upstream whose
 *   call still opens: a client that gave up meanwhile must end the call it did not wait for).
 */
export type Fault =
  | {
      route: FaultRoute;
      kind: "status";
      status: number;
      count: number;
      code?: string;
      param?: string;
    }
  | { route: FaultRoute; kind: "hang"; count: number }
  | { route: FaultRoute; kind: "garbage"; body: string; count: number }
  | { route: FaultRoute; kind: "delay"; ms: number; count: number };

export const DEFAULT_GARBAGE =
  "<html><body>502 Bad Gateway (garbage injected by the stand-in)</body></html>";

/** Validates a `POST /_standin/faults` body. */
export function parseFault(input: unknown): Result<Fault> {
  const f = input as v.JsonObject;
  const problem =
    v.object(
      input,
      "",
      ["route", "kind", "status", "count", "body", "ms", "code", "param"],
      ["route", "kind"],
    ) ??
    v.oneOf(f.route, "route", FAULT_ROUTES) ??
    v.oneOf(f.kind, "kind", FAULT_KINDS) ??
    v.optional(f.count, (c) => v.integer(c, "count", 1)) ??
    (f.kind === "status"
      ? (v.requireKeys(f, "", ["status"]) ?? v.integer(f.status, "status", 400, 599))
      : f.status === undefined
        ? undefined
        : errors.unknownParameter("status")) ??
    (f.kind === "status"
      ? (v.optional(f.code, (c) => v.string(c, "code")) ??
        v.optional(f.param, (p) => v.string(p, "param")))
      : f.code !== undefined
        ? errors.unknownParameter("code")
        : f.param !== undefined
          ? errors.unknownParameter("param")
          : undefined) ??
    (f.kind === "garbage"
      ? v.optional(f.body, (b) => v.string(b, "body"))
      : f.body === undefined
        ? undefined
        : errors.unknownParameter("body")) ??
    (f.kind === "delay"
      ? (v.requireKeys(f, "", ["ms"]) ?? v.integer(f.ms, "ms", 1, MAX_DELAY_MS))
      : f.ms === undefined
        ? undefined
        : errors.unknownParameter("ms"));
  if (problem) return fail(problem);
  const route = f.route as FaultRoute;
  const count = (f.count as number | undefined) ?? 1;
  if (f.kind === "status")
    return ok({
      route,
      kind: "status",
      status: f.status as number,
      count,
      ...(typeof f.code === "string" ? { code: f.code } : {}),
      ...(typeof f.param === "string" ? { param: f.param } : {}),
    });
  if (f.kind === "hang") return ok({ route, kind: "hang", count });
  if (f.kind === "delay") return ok({ route, kind: "delay", ms: f.ms as number, count });
  return ok({
    route,
    kind: "garbage",
    body: (f.body as string | undefined) ?? DEFAULT_GARBAGE,
    count,
  });
}

/** Faults in the order they were added; each request consumes one use of the first match. */
export class FaultQueue {
  private faults: Fault[] = [];

  add(fault: Fault): void {
    this.faults.push({ ...fault });
  }

  take(route: FaultRoute): Fault | undefined {
    const index = this.faults.findIndex((f) => f.route === route);
    const fault = this.faults[index];
    if (!fault) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) this.faults.splice(index, 1);
    return fault;
  }

  clear(): void {
    this.faults = [];
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }
}
