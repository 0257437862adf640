/**
 * When and how soon to reconnect after a session ends. Pure: the caller passes the close
 * reason, how many tries it has made since the call was last live, and a random source.
 */
import { RealtimeCallError } from "./errors";
import type { CloseReason } from "./types";

/** Bounds of the retry loop. */
export interface ReconnectPolicy {
  /** Tries after one drop before giving up (the rollover at the session cap is not a try). */
  maxTries: number;
  /** Delay bound of the first try; each further try doubles it. */
  baseDelayMs: number;
  /** Upper bound of a backoff delay. A server's `retryAfter` is honoured even when longer. */
  maxDelayMs: number;
}

export const DEFAULT_RECONNECT_POLICY: Readonly<ReconnectPolicy> = {
  maxTries: 5,
  baseDelayMs: 500,
  maxDelayMs: 15_000,
};

/** What a close reason means for reconnecting. */
export type DropClass =
  /** The user ended the session (or aborted a connect): do nothing. */
  | { kind: "user" }
  /** Trying again cannot help until the user acts; `why` is for logs, not for display. */
  | { kind: "fatal"; why: string }
  /** The network or the server failed: try again after a backoff. */
  | { kind: "transient" }
  /** The server said when a retry can succeed (a rate limit). */
  | { kind: "wait"; ms: number }
  /** The session reached the server's maximum duration: open the next call at once. */
  | { kind: "rollover" }
  /**
   * The backend ended the call on purpose (a brokered call's minute budget or length cap):
   * a new call would defeat the limit. Nothing reconnects; the caller explains the end.
   */
  | { kind: "ended" };

/** The next step after a drop or a failed try. */
export type ReconnectDecision =
  | {
      action: "reconnect";
      delayMs: number;
      /** Tries to record once this one starts: the rollover leaves the count as it was. */
      tries: number;
    }
  | { action: "give-up"; reason: "fatal" | "exhausted"; tries: number }
  /** Ended on purpose by the backend: the conversation ends without a reconnect. */
  | { action: "end" }
  | { action: "stop" };

/**
 * Classifies a close reason. Token failures are the backend's business, so `tokenFailure`
 * classifies the `cause` of a `token`-stage failure; without it they count as transient.
 */
export function classifyDrop(
  reason: CloseReason,
  tokenFailure: (cause: unknown) => DropClass = () => ({ kind: "transient" }),
): DropClass {
  switch (reason.kind) {
    case "client":
      return { kind: "user" };
    case "server-limit":
      return { kind: "rollover" };
    case "live-closed":
      // Only a lost connection is the network's doing; every other close was meant (the
      // server's hang-up at the deadline, the session's expiry, a content stop).
      return reason.reason === "connection_lost" ? { kind: "transient" } : { kind: "ended" };
    case "ice-failed":
    case "unresponsive":
    case "channel-closed":
      return { kind: "transient" };
    case "connect-failed": {
      const { failure, cause } = reason.error;
      switch (failure) {
        case "aborted":
          return { kind: "user" };
        case "denied":
        case "not-found":
        case "in-use":
        case "microphone":
          return { kind: "fatal", why: "the microphone is unavailable" };
        case "unsupported":
          return { kind: "fatal", why: "this browser could not create a WebRTC offer" };
        case "token":
          return tokenFailure(cause);
        case "timeout":
        case "unreachable":
        case "connection":
        case "invalid-answer":
          return { kind: "transient" };
        case "rejected":
          return sdpFailure(cause);
        // A brokered exchange's refusals: a rate limit that named a wait is waited out, as a
        // rate-limited mint is (retrying before it would only spend a try).
        case "rate-limited":
          return reason.error.retryAfterMs === null
            ? { kind: "transient" }
            : { kind: "wait", ms: reason.error.retryAfterMs };
        case "unavailable":
          return { kind: "transient" };
        case "out-of-minutes":
        case "invalid-offer":
        case "invalid-request":
        case "not-served":
        case "unauthenticated":
        case "misconfigured":
          return { kind: "fatal", why: `the call was refused: ${failure}` };
      }
    }
  }
}

/**
 * A rejected SDP exchange. A 401 or 403 on a reconnect usually means the cached secret
 * expired; the next try mints a fresh one. Other 4xx answers will not change on their own.
 */
function sdpFailure(cause: unknown): DropClass {
  if (!(cause instanceof RealtimeCallError)) return { kind: "transient" };
  const { status } = cause;
  if (status === 401 || status === 403 || status === 408 || status === 429 || status >= 500) {
    return { kind: "transient" };
  }
  return { kind: "fatal", why: `OpenAI rejected the call (HTTP ${status})` };
}

/**
 * Decides the next step. `tries` counts the tries since the call was last live (0 right
 * after a drop); reset it to 0 once a call is live again.
 */
export function decideReconnect(
  drop: DropClass,
  tries: number,
  policy: Readonly<ReconnectPolicy>,
  random: () => number,
): ReconnectDecision {
  switch (drop.kind) {
    case "user":
      return { action: "stop" };
    case "ended":
      return { action: "end" };
    case "fatal":
      return { action: "give-up", reason: "fatal", tries };
    case "rollover":
      // An expected end, not a failure: the next call opens at once and costs no try.
      if (tries === 0) return { action: "reconnect", delayMs: 0, tries };
      break;
    case "transient":
    case "wait":
      break;
  }
  if (tries >= policy.maxTries) return { action: "give-up", reason: "exhausted", tries };
  const backoff = backoffDelayMs(tries + 1, policy, random);
  // Retrying before the server's stated wait would only burn a try.
  const delayMs = drop.kind === "wait" ? Math.max(drop.ms, backoff) : backoff;
  return { action: "reconnect", delayMs, tries: tries + 1 };
}

/**
 * The delay before try `attempt` (1-based): exponential, bounded by `maxDelayMs`, with
 * "equal jitter" — half fixed, half random — so clients that dropped together spread out
 * but none retries at once.
 */
export function backoffDelayMs(
  attempt: number,
  policy: Readonly<ReconnectPolicy>,
  random: () => number,
): number {
  const exponent = Math.max(0, attempt - 1);
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(bound / 2 + (bound / 2) * r);
}
