import type { DropClass } from "../realtime";
import { TokenError } from "./tokenError";

/**
 * How a failed mint during a reconnect bears on retrying: the realtime layer's
 * `classifyDrop` takes this as its `tokenFailure` hook. Rate limits say when to come back;
 * a spent daily quota, sign-in, App Check, configuration and request problems need the
 * user or the operator; the rest may pass.
 */
export function tokenDropClass(error: unknown): DropClass {
  if (!(error instanceof TokenError)) return { kind: "transient" };
  switch (error.kind) {
    case "rate-limited": {
      const seconds = error.details.retryAfterSeconds;
      return seconds === undefined ? { kind: "transient" } : { kind: "wait", ms: seconds * 1000 };
    }
    case "daily-quota":
    case "not-signed-in":
    case "app-check":
    case "misconfigured":
    case "invalid-request":
      return { kind: "fatal", why: `token: ${error.kind}` };
    case "unavailable":
    case "unreachable":
    case "timeout":
    case "unknown":
      return { kind: "transient" };
  }
}
