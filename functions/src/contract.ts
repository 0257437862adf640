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
}

/** The session the minted secret was created with, as far as the client chose it. */
export interface RealtimeTokenSession {
  voice: string;
  outputModality: OutputModality;
  language: string | null;
  /** Whether the session transcribes the user's speech (server config). */
  transcription: boolean;
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
  /** The values the server accepts for the request's fields, for building pickers. */
  choices: {
    voices: string[];
    languages: string[];
    outputModalities: OutputModality[];
  };
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
