/*
 * The operator page's side of `operatorUsage`: its answer checked at the boundary, and what a
 * failure means to the reader. Failures are read by the error's code (never its message text,
 * apart from the SDK's "no HTTP answer" marker that readCallableError already tells apart).
 */
import * as v from "valibot";
import { ADMIN_CLAIM, type OperatorUsageResponse } from "voice-contract";
import { readCallableError } from "./errors";

/** What went wrong reading the usage, in terms of what the operator can do about it. */
export type OperatorErrorKind =
  /** `permission-denied`: the caller's ID token lacks the admin claim. */
  | "not-operator"
  | "not-signed-in"
  | "unreachable"
  | "timeout"
  | "unavailable"
  | "misconfigured"
  | "invalid-request"
  /** The server answered with data this page cannot read (a mismatched deploy). */
  | "malformed"
  | "unknown";

/** A failed `operatorUsage` call; `message` is written for the reader and says what to do. */
export class OperatorError extends Error {
  override readonly name = "OperatorError";

  constructor(
    readonly kind: OperatorErrorKind,
    message: string,
    /** The callable's error code without the `functions/` prefix ("" for a malformed answer). */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Maps any error of the `operatorUsage` callable to an {@link OperatorError}. */
export function toOperatorError(error: unknown): OperatorError {
  if (error instanceof OperatorError) return error;
  const failure = readCallableError(error);
  const { code } = failure;
  const make = (kind: OperatorErrorKind, message: string) =>
    new OperatorError(kind, message, code, { cause: error });
  switch (code) {
    case "permission-denied":
      return make(
        "not-operator",
        `This account is not an operator. Usage is shown to accounts whose sign-in carries the ` +
          `"${ADMIN_CLAIM}" claim: an operator grants it with "npm run plan -- admin <uid|email> on", ` +
          `then you press Refresh.`,
      );
    case "unauthenticated":
      return make("not-signed-in", "You're not signed in. Reload the page and sign in again.");
    case "deadline-exceeded":
      return make(
        "timeout",
        "The usage server (this app's operatorUsage function) did not answer in time. Try again in a moment.",
      );
    case "unavailable":
      return make(
        "unavailable",
        "The usage server is unavailable right now. Try again in a minute.",
      );
    case "invalid-argument":
      return make(
        "invalid-request",
        "The server rejected the request for usage; this page and the deployed functions may not match. Reload the page.",
      );
    case "internal":
      if (failure.unreachable) {
        return make(
          "unreachable",
          "Couldn't reach the usage server. Check your connection and try again.",
        );
      }
      return make("misconfigured", MISCONFIGURED_MESSAGE);
    case "failed-precondition":
      return make("misconfigured", MISCONFIGURED_MESSAGE);
    case "not-found":
      return make(
        "misconfigured",
        "The operatorUsage function was not found. Deploy the functions and check VITE_FUNCTIONS_REGION.",
      );
    default:
      return make(
        "unknown",
        `Couldn't read the usage${failure.serverMessage ? `: ${failure.serverMessage}` : "."} Try again.`,
      );
  }
}

const MISCONFIGURED_MESSAGE =
  "The usage server failed. The operatorUsage function's logs name what to fix.";

// Made on first use: a module-level schema is code the bundler must keep wherever this module
// is imported, and the voice page imports the folder's index (valibot would join its first paint).
let schema: ReturnType<typeof makeSchema> | undefined;

function makeSchema() {
  const count = v.pipe(v.number(), v.finite(), v.minValue(0));
  return v.object({
    days: v.array(
      v.object({
        day: v.pipe(v.string(), v.regex(/^\d{4}-\d{2}-\d{2}$/)),
        byPlan: v.record(
          v.string(),
          v.object({
            calls: count,
            usedSeconds: count,
            refundedSeconds: count,
            estimatedCostUsd: count,
          }),
        ),
      }),
    ),
    topUsers: v.array(
      v.object({
        uid: v.string(),
        email: v.nullable(v.string()),
        plan: v.string(),
        calls: count,
        usedSeconds: count,
      }),
    ),
    refusals: v.record(v.string(), count),
    generatedAtMs: count,
  });
}

/**
 * `data` as an {@link OperatorUsageResponse}, or an {@link OperatorError} of kind `malformed`
 * naming the first field that is not what the contract says.
 */
export function readOperatorUsage(data: unknown): OperatorUsageResponse {
  const result = v.safeParse((schema ??= makeSchema()), data);
  if (result.success) return result.output;
  const path = v.getDotPath(result.issues[0]) ?? "";
  throw new OperatorError(
    "malformed",
    `The usage server answered with data this page cannot read (${path === "" ? "not an object" : `at ${path}`}). ` +
      "Deploy the functions and the web app from the same commit.",
    "",
  );
}
