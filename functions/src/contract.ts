/**
 * The wire contract of the `realtimeToken` callable, shared by the function and its clients.
 *
 * This module holds types and constants only, so a client can import it with `import type`
 * (or import the constants) without pulling any server code into its bundle.
 */

/** Output modalities a client may choose. `audio` also yields transcripts; `text` is text only. */
export const OUTPUT_MODALITIES = ["audio", "text"] as const;
export type OutputModality = (typeof OUTPUT_MODALITIES)[number];

/**
 * Input noise reduction: `near_field` for a headset or a laptop held close, `far_field` for a
 * conference-room or speakerphone microphone, `off` for none (the browser's own noise
 * suppression still runs).
 */
export const NOISE_REDUCTIONS = ["near_field", "far_field", "off"] as const;
export type NoiseReduction = (typeof NOISE_REDUCTIONS)[number];

/**
 * How the server decides the user finished a turn: `server_vad` on silence, `semantic_vad`
 * on what was said (see `eagerness`), `push_to_talk` never — the client commits the audio
 * buffer and asks for a response itself when the user releases the talk button.
 */
export const TURN_DETECTIONS = ["server_vad", "semantic_vad", "push_to_talk"] as const;
export type TurnDetection = (typeof TURN_DETECTIONS)[number];

/** How readily `semantic_vad` ends the user's turn; `auto` is the model's own choice. */
export const VAD_EAGERNESS = ["low", "medium", "high", "auto"] as const;
export type VadEagerness = (typeof VAD_EAGERNESS)[number];

/**
 * What a client may ask for. Every field is optional; any other field is rejected with
 * `invalid-argument`. Everything else about the session (model, instructions, turn detection,
 * transcription model, tools, limits) is server configuration.
 */
export interface RealtimeTokenRequest {
  /** A voice from `choices.voices` of a previous response (the server's `ALLOWED_VOICES`). */
  voice?: string;
  /** `"audio"` (default) for speech in and out, `"text"` for text-only responses. */
  outputModality?: OutputModality;
  /**
   * ISO-639-1 language of the user's speech, a hint for input transcription; one of
   * `choices.languages`. Omit to let the transcription model detect it.
   */
  language?: string;
  /** One of `choices.noiseReductions`. */
  noiseReduction?: NoiseReduction;
  /** One of `choices.turnDetections`. */
  turnDetection?: TurnDetection;
  /** One of `choices.eagerness`; only with `turnDetection` `"semantic_vad"` (or that default). */
  eagerness?: VadEagerness;
}

/** The session the minted secret was created with, as far as the client chose it. */
export interface RealtimeTokenSession {
  voice: string;
  outputModality: OutputModality;
  language: string | null;
  /** Whether the session transcribes the user's speech (server config). */
  transcription: boolean;
  noiseReduction: NoiseReduction;
  /** `push_to_talk`: the client must commit each turn (the session has no turn detection). */
  turnDetection: TurnDetection;
  /** Set only with `semantic_vad`. */
  eagerness: VadEagerness | null;
}

/** The values the server accepts for the noise and turn-taking fields, for building pickers. */
export interface SessionChoiceSets {
  noiseReductions: NoiseReduction[];
  turnDetections: TurnDetection[];
  eagerness: VadEagerness[];
}

/**
 * What the server accepts for each request field and what it picks when a field is left out,
 * for building pickers (`choices` of a `realtimeToken` or `realtimeCall` result).
 */
export interface SessionChoiceOptions extends SessionChoiceSets {
  voices: string[];
  languages: string[];
  outputModalities: OutputModality[];
  /** The server's defaults (`DEFAULT_*` params). `eagerness` applies with `semantic_vad`. */
  defaults: {
    voice: string;
    noiseReduction: NoiseReduction;
    turnDetection: TurnDetection;
    eagerness: VadEagerness;
  };
}

/** A successful `realtimeToken` result. */
export interface RealtimeTokenResponse {
  /** The ephemeral client secret (`ek_…`): the Bearer token for `POST /v1/realtime/calls`. */
  token: string;
  /** When the secret stops opening new calls, in unix seconds. Calls already open continue. */
  expiresAt: number;
  /** The Realtime model the session runs (server config; the client cannot change it). */
  model: string;
  session: RealtimeTokenSession;
  /** The caller's daily mint quota after this mint. */
  quota: {
    limit: number;
    remaining: number;
    /** Start of the next UTC day, in unix seconds, when `remaining` resets to `limit`. */
    resetsAt: number;
  };
  /** The values the server accepts for the request's fields, and its defaults. */
  choices: SessionChoiceOptions;
}

/**
 * Why a call was rate limited; `details.reason` of a `resource-exhausted` error:
 * - `user-interval`: the same user minted less than `USER_MIN_INTERVAL_SECONDS` ago;
 * - `daily-quota`: the user used up `USER_DAILY_QUOTA` for the current UTC day;
 * - `ip-rate`: too many mints from the caller's network address in the current minute;
 * - `upstream-rate`: OpenAI itself rate limited the mint (HTTP 429).
 */
export const LIMIT_REASONS = ["user-interval", "daily-quota", "ip-rate", "upstream-rate"] as const;
export type LimitReason = (typeof LIMIT_REASONS)[number];

/** `details` of a `resource-exhausted` error from `realtimeToken`. */
export interface RateLimitDetails {
  reason: LimitReason;
  /** Whole seconds until a retry can succeed (at least 1). */
  retryAfterSeconds: number;
}

/** `details` of an `invalid-argument` error from `realtimeToken`. */
export interface InvalidArgumentDetails {
  /** The offending request field, e.g. `"voice"`; `"(request)"` for the payload as a whole. */
  field: string;
}

/** What the backend serves; the `REALTIME_MODES` param. */
export type RealtimeMode = "secret" | "brokered";

/**
 * A `realtimeCall` request: the browser's SDP offer (audio section and the `oai-events` data
 * channel) plus the same optional choices as {@link RealtimeTokenRequest}.
 */
export interface RealtimeCallRequest extends RealtimeTokenRequest {
  /** `RTCPeerConnection.localDescription.sdp` after `setLocalDescription(createOffer())`. */
  offer: string;
}

/** The caller's voice minutes, in seconds, with when each budget comes back. */
export interface VoiceMinutes {
  /** Seconds left today (after this call's slice, in a `realtimeCall` result). */
  daySeconds: number;
  /** Start of the next UTC day, in unix seconds. */
  dayResetsAt: number;
  /** Seconds left this month, or null when there is no monthly cap. */
  monthSeconds: number | null;
  /** Start of the next UTC month, in unix seconds, or null without a monthly cap. */
  monthResetsAt: number | null;
}

/** A successful `realtimeCall` result. */
export interface RealtimeCallResponse {
  /** The SDP answer for `setRemoteDescription({ type: "answer", sdp })`. */
  answer: string;
  /** Upstream's call id; pass it to `endRealtimeCall`. */
  callId: string;
  /** When the server hangs the call up, in unix ms. */
  endsAt: number;
  /** The call's slice in seconds (`endsAt` is this long after the call opened). */
  sliceSeconds: number;
  /** The Realtime model the session runs. */
  model: string;
  session: RealtimeTokenSession;
  minutes: VoiceMinutes;
  /**
   * Which bound set the slice, so the page can say why the server hung up at `endsAt`:
   * `call` (`MAX_CALL_SECONDS`), or the budget the call used up (`daily-minutes`: back at
   * `minutes.dayResetsAt`; `monthly-minutes`: back at `minutes.monthResetsAt`).
   */
  limitedBy: SliceLimit;
  /** The values the server accepts for the request's fields, and its defaults. */
  choices: SessionChoiceOptions;
}

/**
 * A `realtimeCall` request that opens nothing: the guards run (sign-in, App Check, the mode)
 * and the caller's minutes come back. The page sends it before the first Connect, which also
 * readies the function (its instance, the connection, the browser's CORS preflight) for the
 * click.
 */
export interface RealtimeCallPrepareRequest {
  prepare: true;
}

/** The result of a {@link RealtimeCallPrepareRequest}. */
export interface RealtimeCallPrepared {
  prepared: true;
  /** What the caller has left now (no slice reserved). */
  minutes: VoiceMinutes;
  /** The longest single call, seconds (`MAX_CALL_SECONDS`). */
  maxCallSeconds: number;
  /** The Realtime model a call would run. */
  model: string;
  /** The values the server accepts for the request's fields, and its defaults. */
  choices: SessionChoiceOptions;
}

/**
 * What set a brokered call's slice: the longest single call, or the daily or monthly budget
 * that the slice spends to zero.
 */
export type SliceLimit = "call" | MinuteLimitReason;

/** An `endRealtimeCall` request. */
export interface EndRealtimeCallRequest {
  callId: string;
}

/** A successful `endRealtimeCall` result. */
export interface EndRealtimeCallResponse {
  /** `ended`: this request ended it; `already-ended`: it was over already (idempotent). */
  outcome: "ended" | "already-ended";
  /** Seconds the call was charged, when this request ended it. */
  usedSeconds: number | null;
  minutes: VoiceMinutes;
}

/**
 * Why a brokered call was refused or ended by the budget; `details.reason` of its
 * `resource-exhausted` error: today's (`daily-minutes`) or this month's (`monthly-minutes`)
 * voice minutes are spent.
 */
export type MinuteLimitReason = "daily-minutes" | "monthly-minutes";

/**
 * `details` of a `resource-exhausted` error from `realtimeCall`: a spent budget, too many calls
 * from the caller's network this minute (`ip-rate`, IP_CALLS_PER_MINUTE), or OpenAI's 429.
 */
export interface MinuteLimitDetails {
  reason: MinuteLimitReason | "ip-rate" | "upstream-rate";
  /** Whole seconds until the budget is back (at least 1). */
  retryAfterSeconds: number;
}

/** `details` of the `failed-precondition` error of a callable whose mode is not served. */
export interface ModeNotServedDetails {
  reason: "mode-not-served";
  /** What the backend serves instead. */
  served: RealtimeMode[];
}
