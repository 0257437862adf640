/**
 * The one exit of every callable: a {@link Failure} becomes the `HttpsError` the client sees
 * (code, text, details). Nothing else in functions/src constructs an `HttpsError`.
 *
 * Details carry what a client acts on (a refusal's reason and wait, the field to fix, the
 * modes served) and nothing that is not already the caller's: no key, secret, SDP, setting
 * name or upstream message.
 */
import { HttpsError } from "firebase-functions/v2/https";
import {
  ADMIN_CLAIM,
  type InvalidArgumentDetails,
  type ModeNotServedDetails,
  refusalMessage,
  UPSTREAM_TIMEOUT_REASON,
  type UpstreamTimeoutDetails,
} from "voice-contract";
import { CallableFailure, type Failure, type StoreStage } from "./failure";

const STORE_TEXT: Record<StoreStage, string> = {
  limits: "Could not check your usage limits. Try again shortly.",
  "find-call": "Could not end the call. Try again shortly.",
  "end-call":
    "The call is over, but its unused minutes could not be handed back yet. Try again shortly.",
  usage: "Could not read the usage records. Try again shortly.",
};

/** The `HttpsError` of `failure`. */
export function toHttpsError(failure: Failure): HttpsError {
  switch (failure.kind) {
    case "signed-out":
      return new HttpsError("unauthenticated", `Sign in before calling ${failure.callable}.`);
    case "app-check-missing":
      return new HttpsError("unauthenticated", "This call needs an App Check token.");
    case "app-check-replayed":
      return new HttpsError(
        "permission-denied",
        `This App Check token was already used. Call ${failure.callable} with ` +
          "{ limitedUseAppCheckTokens: true } so each call gets a fresh one.",
      );
    case "bad-input": {
      const details: InvalidArgumentDetails = { field: failure.field };
      return new HttpsError("invalid-argument", failure.message, details);
    }
    case "mode-not-served":
      return modeNotServedError(failure.callable, failure.served);
    case "plan-refused":
      return planRefusedError(failure);
    case "refused": {
      const { reason, retryAfterSeconds } = failure.refusal;
      return new HttpsError("resource-exhausted", refusalMessage(failure.refusal), {
        reason,
        retryAfterSeconds,
        ...(failure.minutes !== undefined ? { minutes: failure.minutes } : {}),
      });
    }
    case "misconfigured":
      return new HttpsError(
        "internal",
        `The ${failure.callable} service is misconfigured. Its logs name the setting to fix.`,
      );
    case "store-unavailable":
      return new HttpsError("unavailable", STORE_TEXT[failure.stage]);
    case "upstream-unavailable": {
      if (failure.failure === "timeout") {
        const details: UpstreamTimeoutDetails = { reason: UPSTREAM_TIMEOUT_REASON };
        return new HttpsError(
          "unavailable",
          "OpenAI did not answer in time. Try again shortly.",
          details,
        );
      }
      return new HttpsError("unavailable", "OpenAI is not available right now. Try again shortly.");
    }
    case "not-operator":
      return new HttpsError(
        "permission-denied",
        `${failure.callable} is for operators, and this account has no ${ADMIN_CLAIM} claim. ` +
          `An operator sets it with \`npm run plan -- admin <uid|email> on\`; it applies from ` +
          "the account's next ID token (sign in again).",
      );
    case "call-not-found":
      return new HttpsError("not-found", `You have no call with the id ${failure.callId}.`);
    case "call-not-scheduled":
      return new HttpsError(
        "unavailable",
        "Could not schedule the end of your call, so it was not opened. Try again shortly.",
      );
    case "hangup-failed":
      return new HttpsError(
        "unavailable",
        "Could not end the call upstream; it still ends at its deadline. Try again shortly.",
      );
  }
}

function modeNotServedError(callable: string, served: ModeNotServedDetails["served"]) {
  const details: ModeNotServedDetails = { reason: "mode-not-served", served };
  const instead =
    served.includes("brokered") && callable === "realtimeToken"
      ? ` Call realtimeCall with your SDP offer instead: this backend opens calls itself and ` +
        "counts voice minutes, so it does not hand out client secrets."
      : " Call realtimeToken instead and open the call with its client secret.";
  return new HttpsError(
    "failed-precondition",
    `${callable} is not served here (REALTIME_MODES serves ${served.join(" and ")}).${instead}`,
    details,
  );
}

/**
 * A plan's refusal reads like the backend's mode refusal (failed-precondition, the modes the
 * caller may use in `served`), so a client that switches mode on one does on the other.
 */
function planRefusedError(failure: Extract<Failure, { kind: "plan-refused" }>) {
  const { refused, plan, callable } = failure;
  if (refused.what === "model")
    return new HttpsError(
      "failed-precondition",
      `Your plan (${plan}) does not include the model this server runs (${refused.model}). ` +
        "Ask the operator to change your plan.",
      { reason: "plan-model-not-allowed", plan },
    );
  const details: ModeNotServedDetails = { reason: "mode-not-served", served: refused.modes };
  return new HttpsError(
    "failed-precondition",
    `Your plan (${plan}) does not include ${callable}; it includes ${refused.modes.join(" and ")} calls.`,
    details,
  );
}

/**
 * What a callable throws for `error`: the `HttpsError` of a {@link CallableFailure}, anything
 * else unchanged (the SDK answers `internal` without revealing it).
 */
export function exitError(error: unknown): unknown {
  return error instanceof CallableFailure ? toHttpsError(error.failure) : error;
}
