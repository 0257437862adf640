/**
 * Everything a callable can answer instead of its result, as one union of typed kinds. The
 * handlers decide which failure happened; `httpsErrors.ts` alone turns a failure into the
 * `HttpsError` the client sees, so that a kind always gets the same code, text and details.
 */
import type { RealtimeMode, Refusal, VoiceMinutes } from "voice-contract";
import { UpstreamError, type UpstreamFailure } from "./openai";
import type { VoiceSettings } from "./voiceSettings";

/** While reading or writing what the store was unavailable, which decides the text. */
export type StoreStage = "limits" | "find-call" | "end-call";

/** A failure of a callable; `callable` names it in texts that tell a developer what to fix. */
export type Failure =
  | { kind: "signed-out"; callable: string }
  | { kind: "app-check-missing" }
  | { kind: "app-check-replayed"; callable: string }
  | { kind: "bad-input"; field: string; message: string }
  | { kind: "mode-not-served"; callable: string; served: RealtimeMode[] }
  | { kind: "refused"; refusal: Refusal; minutes?: VoiceMinutes | undefined }
  /** A setting the caller cannot fix; the log names it. */
  | { kind: "misconfigured"; callable: string }
  | { kind: "store-unavailable"; stage: StoreStage }
  /**
   * Upstream failed without a limit or a refusal of our key or session (those map above);
   * `timeout`: it did not answer within OPENAI_TIMEOUT_MS.
   */
  | { kind: "upstream-unavailable"; failure: "unavailable" | "timeout" | "malformed" | "unknown" }
  | { kind: "call-not-found"; callId: string }
  | { kind: "call-not-scheduled" }
  | { kind: "hangup-failed" };

/** Thrown inside a callable's pipeline; its exit maps {@link CallableFailure.failure}. */
export class CallableFailure extends Error {
  override readonly name = "CallableFailure";
  constructor(readonly failure: Failure) {
    super(failure.kind);
  }
}

/** Throws `failure` as a {@link CallableFailure}. */
export function fail(failure: Failure): never {
  throw new CallableFailure(failure);
}

/** Upstream's 429 without a `Retry-After`: how long a caller is asked to wait. */
export const UPSTREAM_RETRY_SECONDS = 10;

/**
 * The failure for what an upstream request threw. A rate limit is a refusal; a refused key
 * (`auth`) or a refused request (`rejected`, any other 4xx) is the server's misconfiguration,
 * since the server alone builds the session and the offer was checked before it went out:
 * retrying cannot help, so neither is `unavailable`.
 */
export function upstreamFailure(callable: string, error: unknown): Failure {
  const kind: UpstreamFailure | "unknown" = error instanceof UpstreamError ? error.kind : "unknown";
  switch (kind) {
    case "rate":
      return {
        kind: "refused",
        refusal: {
          reason: "upstream-rate",
          retryAfterSeconds:
            (error as UpstreamError).details.retryAfterSeconds ?? UPSTREAM_RETRY_SECONDS,
        },
      };
    case "auth":
    case "rejected":
      return { kind: "misconfigured", callable };
    default:
      return {
        kind: "upstream-unavailable",
        failure: error instanceof UpstreamError && error.details.timedOut ? "timeout" : kind,
      };
  }
}

/** The modes a backend serves, for the refusal of one it does not. */
export function servedModes(voice: VoiceSettings): RealtimeMode[] {
  return [
    ...(voice.serveSecret ? (["secret"] as const) : []),
    ...(voice.serveBrokered ? (["brokered"] as const) : []),
  ];
}

/** The failure of `callable` when the backend does not serve its mode. */
export function modeNotServed(callable: string, voice: VoiceSettings): Failure {
  return { kind: "mode-not-served", callable, served: servedModes(voice) };
}
