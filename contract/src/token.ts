/** The `realtimeToken` callable: a short-lived OpenAI Realtime client secret for the browser. */
import type { CallChoices, CallSession, SessionChoiceOptions } from "./choices.js";

/** The callable's name (see `functions/src/index.ts`). */
export const REALTIME_TOKEN_FUNCTION = "realtimeToken";

/**
 * The default of the server's `USER_MIN_INTERVAL_SECONDS`: the least time between two mints by
 * one user. A `user-interval` refusal never asks a client to wait longer than the interval.
 */
export const DEFAULT_USER_MIN_INTERVAL_SECONDS = 5;

/** A `realtimeToken` request: only the session choices. */
export type RealtimeTokenRequest = CallChoices;

/** A successful `realtimeToken` result. */
export interface RealtimeTokenResponse {
  /** The ephemeral client secret (`ek_…`): the Bearer token for `POST /v1/realtime/calls`. */
  token: string;
  /** When the secret stops opening new calls (epoch ms). Calls already open continue. */
  expiresAtMs: number;
  /** The Realtime model the session runs (server config; the client cannot change it). */
  model: string;
  session: CallSession;
  /** The caller's daily mint quota after this mint. */
  quota: {
    limit: number;
    remaining: number;
    /** Start of the next UTC day (epoch ms), when `remaining` resets to `limit`. */
    resetsAtMs: number;
  };
  /** The values the server accepts for the request's fields, and its defaults. */
  choices: SessionChoiceOptions;
}
