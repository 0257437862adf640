/**
 * The brokered calls: `realtimeCall` posts the browser's SDP offer upstream with the server's
 * key and counts voice minutes (its `prepare` verb opens nothing), `endRealtimeCall` hangs up.
 */
import type { CallChoices, CallSession, SessionChoiceOptions } from "./choices.js";
import type { PriorTurn, VoiceApi } from "./live.js";
import type { SliceLimit, VoiceMinutes } from "./minutes.js";

/** The brokered callables' names (see `functions/src/index.ts`). */
export const REALTIME_CALL_FUNCTION = "realtimeCall";
export const END_REALTIME_CALL_FUNCTION = "endRealtimeCall";

/**
 * A `realtimeCall` request: the browser's SDP offer (audio section and the `oai-events` data
 * channel) plus the session choices.
 */
export interface RealtimeCallRequest extends CallChoices {
  /** `RTCPeerConnection.localDescription.sdp` after `setLocalDescription(createOffer())`. */
  offer: string;
  /**
   * Which upstream to open the call on: one of the prepare result's `apis`. Left out: the
   * first of them (the server's default).
   */
  api?: VoiceApi;
  /**
   * The conversation so far, when the page reopens a dropped Live call (Live calls only): at
   * most `MAX_PRIOR_TURNS` turns of `MAX_PRIOR_CHARS` characters in all. The server passes
   * them to the new session as prior context.
   */
  priorTurns?: PriorTurn[];
}

/** A successful `realtimeCall` result. */
export interface RealtimeCallResponse {
  /** The SDP answer for `setRemoteDescription({ type: "answer", sdp })`. */
  answer: string;
  /** Upstream's call id (a Live call's session id); pass it to `endRealtimeCall`. */
  callId: string;
  /** The upstream the call runs on, and so the protocol its data channel speaks. */
  api: VoiceApi;
  /** When the server hangs the call up (epoch ms). */
  endsAtMs: number;
  /** The call's slice (`endsAtMs` is this long after the call opened). */
  sliceSeconds: number;
  /** The model the session runs (a Realtime or a Live model, as `api` says). */
  model: string;
  session: CallSession;
  minutes: VoiceMinutes;
  /**
   * Which bound set the slice, so the page can say why the server hung up at `endsAtMs`:
   * `call` (`MAX_CALL_SECONDS`), or the budget the call used up (`daily-minutes`: back at
   * `minutes.dayResetsAtMs`; `monthly-minutes`: back at `minutes.monthResetsAtMs`).
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
  /** The longest single call (`MAX_CALL_SECONDS`). */
  maxCallSeconds: number;
  /** The Realtime model a call would run. */
  model: string;
  /**
   * The upstreams this caller may open calls on (the server's `BROKERED_APIS`, narrowed by
   * the caller's plan); the first is the default when a request names none. Never empty.
   */
  apis: VoiceApi[];
  /** The values the server accepts for the request's fields, and its defaults. */
  choices: SessionChoiceOptions;
}

/** An `endRealtimeCall` request. */
export interface EndRealtimeCallRequest {
  callId: string;
  /**
   * How long the call had run when the page ended it (closed its side): whole seconds, rounded
   * up, on the page's own monotonic clock, from `realtimeCall`'s answer arriving to the end. A
   * duration, so neither the page's clock skew nor how long this request takes to arrive (a
   * cold function, a retry) changes it. The server charges by it, but never less than the time
   * up to `END_CLAIM_BOUND_SECONDS` before the request arrived; without it, up to the arrival.
   */
  endedAfterSeconds?: number;
}

/**
 * How much earlier than its end request a page can be charged as having ended its call: a page
 * that misstates {@link EndRealtimeCallRequest.endedAfterSeconds} saves at most this per call.
 */
export const END_CLAIM_BOUND_SECONDS = 15;

/** A successful `endRealtimeCall` result. */
export interface EndRealtimeCallResponse {
  /** `ended`: this request ended it; `already-ended`: it was over already (idempotent). */
  outcome: "ended" | "already-ended";
  /** Seconds the call was charged, when this request ended it. */
  usedSeconds: number | null;
  minutes: VoiceMinutes;
}
