/**
 * Everything a callable can answer instead of its result, as one union of typed kinds. The
 * handlers decide which failure happened; `httpsErrors.ts` alone turns a failure into the
 * `HttpsError` the client sees, so that a kind always gets the same code, text and details.
 */
import type { CallChoices, RealtimeMode, Refusal, VoiceMinutes } from "voice-contract";
import { UpstreamError, type UpstreamFailure } from "./openai";
import type { VoiceSettings } from "./voiceSettings";

/** While reading or writing what the store was unavailable, which decides the text. */
export type StoreStage = "limits" | "find-call" | "end-call" | "usage";

/** A failure of a callable; `callable` names it in texts that tell a developer what to fix. */
export type Failure =
  | { kind: "signed-out"; callable: string }
  | { kind: "app-check-missing" }
  | { kind: "app-check-replayed"; callable: string }
  | { kind: "bad-input"; field: string; message: string }
  | { kind: "mode-not-served"; callable: string; served: RealtimeMode[] }
  /** The caller's plan (plans.ts) does not include this mode, or the model the server runs. */
  | {
      kind: "plan-refused";
      callable: string;
      plan: string;
      refused: { what: "mode"; modes: RealtimeMode[] } | { what: "model"; model: string };
    }
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
  /** The operator's callable, called by an account without the admin claim. */
  | { kind: "not-operator"; callable: string }
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
 * The failure for what an upstream request threw. A rate limit is a refusal. A refused request
 * (`rejected`, a 4xx other than 401/403/429) whose `code` or `param` names what the caller sent
 * (the offer, or a session field built from one of the caller's choices) is the caller's to
 * fix: `bad-input` naming that field. Any other refused request, or a refused key (`auth`), is
 * the server's misconfiguration. Retrying cannot help either, so neither is `unavailable`.
 */
export function upstreamFailure(callable: string, error: unknown): Failure {
  const kind: UpstreamFailure | "unknown" = error instanceof UpstreamError ? error.kind : "unknown";
  if (kind === "rejected") {
    const refused = refusedInput((error as UpstreamError).details);
    if (refused !== undefined) return { kind: "bad-input", ...refused };
  }
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

/**
 * The session fields the server builds from a caller's choice, by OpenAI's `param` path, and
 * the request field of that choice. The most specific path comes first.
 */
const CHOICE_PARAMS: ReadonlyArray<readonly [string, keyof CallChoices]> = [
  ["session.audio.output.voice", "voice"],
  ["session.output_modalities", "outputModality"],
  ["session.audio.input.transcription.language", "language"],
  ["session.audio.input.noise_reduction", "noiseReduction"],
  ["session.audio.input.turn_detection.eagerness", "eagerness"],
  ["session.audio.input.turn_detection", "turnDetection"],
];

/**
 * The request field a refused upstream request names, and what to tell the caller; undefined
 * when it names none the caller chose (the model, the instructions, no `param` at all). The
 * texts never quote upstream's message, which may quote the offer.
 */
export function refusedInput(
  details: UpstreamError["details"],
): { field: string; message: string } | undefined {
  const { code, param } = details;
  if (code === "invalid_offer" || param === "sdp" || param?.startsWith("sdp.") === true)
    return {
      field: "offer",
      message:
        "OpenAI could not negotiate a call from this offer. Send the offer of a peer connection " +
        'with the microphone track and the "oai-events" data channel, as the browser created it.',
    };
  if (param == null) return undefined;
  const choice = CHOICE_PARAMS.find(
    ([path]) => param === path || param.startsWith(`${path}.`) || param.startsWith(`${path}[`),
  );
  if (choice === undefined) return undefined;
  const [, field] = choice;
  return {
    field,
    message: `OpenAI refused the ${field} of this session. Pick another ${field} from the choices this server lists.`,
  };
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

/**
 * The reason a failure is counted under, or undefined when it is no refusal (a signed-out
 * caller, bad input, an outage: those are the logs' to tell). A limit's refusal counts under
 * its `RefusalReason`; a plan's as `plan-mode` or `plan-model`; a mode the backend does not
 * serve as `mode-not-served`.
 */
export function refusalKind(failure: Failure): string | undefined {
  switch (failure.kind) {
    case "refused":
      return failure.refusal.reason;
    case "plan-refused":
      return `plan-${failure.refused.what}`;
    case "mode-not-served":
      return "mode-not-served";
    default:
      return undefined;
  }
}
