/**
 * What the brokered callables read from a request and put on the wire, decided without I/O:
 * the parsers of `realtimeCall` (a call to open, or `{ prepare: true }`) and `endRealtimeCall`,
 * the caller's safety identifier, and remaining minutes in the contract's units.
 */
import { createHash, createHmac } from "node:crypto";
import { isRecord, type VoiceMinutes } from "voice-contract";
import type { ParseResult } from "./guards";
import type { Remaining } from "./minutes";
import { checkOffer } from "./sdp";
import { parseTokenRequest, type SessionChoices, truncate } from "./session";
import type { Settings } from "./settings";

const CALL = "realtimeCall";
const END = "endRealtimeCall";
const CALL_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** A call to open (an offer and its choices), or a prepare request (nothing to open). */
export type CallInput =
  { kind: "open"; offer: string; choices: SessionChoices } | { kind: "prepare" };

/**
 * Splits the offer from the session choices and checks both, or recognises a prepare request
 * (`{ prepare: true }` and nothing else); never throws.
 */
export function parseCallRequest(data: unknown, settings: Settings): ParseResult<CallInput> {
  if (typeof data !== "object" || data === null || Array.isArray(data))
    return {
      ok: false,
      field: "(request)",
      message: `Call ${CALL} with an object: { offer: <SDP offer text>, ...session choices }.`,
    };
  if ("prepare" in data) return parsePrepare(data as Record<string, unknown>);
  const { offer, ...rest } = data as Record<string, unknown>;
  if (offer === undefined)
    return { ok: false, field: "offer", message: "The request has no offer (the SDP offer text)." };
  const checked = checkOffer(offer);
  if (!checked.ok) return { ok: false, field: "offer", message: checked.message };
  const choices = parseTokenRequest(rest, settings.choices);
  if (!choices.ok) return choices;
  return { ok: true, value: { kind: "open", offer: checked.sdp, choices: choices.value } };
}

function parsePrepare({ prepare, ...others }: Record<string, unknown>): ParseResult<CallInput> {
  if (prepare !== true)
    return {
      ok: false,
      field: "prepare",
      message: "prepare must be true (a request that opens nothing), or left out with an offer.",
    };
  const extra = Object.keys(others);
  if (extra.length > 0)
    return {
      ok: false,
      field: extra[0] ?? "prepare",
      message: `A prepare request carries nothing else: send { prepare: true }, or leave prepare out to open a call (found ${extra.join(", ")}).`,
    };
  return { ok: true, value: { kind: "prepare" } };
}

/** A checked `endRealtimeCall` request. */
export interface EndInput {
  callId: string;
  /** When the page ended the call, in seconds from its opening; absent: when this arrived. */
  endedAfterSeconds?: number;
}

/** The longest `endedAfterSeconds` accepted: a day, longer than any call (OpenAI's cap is 60 min). */
const MAX_ENDED_AFTER_SECONDS = 86_400;

/**
 * Checks an `endRealtimeCall` request: the call id that `realtimeCall` returned, and optionally
 * when the page ended the call (`endedAfterSeconds`, whole seconds).
 */
export function parseEndRequest(data: unknown): ParseResult<EndInput> {
  const extra = isRecord(data)
    ? Object.keys(data).find((key) => key !== "callId" && key !== "endedAfterSeconds")
    : undefined;
  // Like the other callables: a field the server would ignore is named, not dropped.
  if (extra !== undefined)
    return {
      ok: false,
      field: extra,
      message: `"${truncate(extra)}" is not a field of ${END}; send only { callId, endedAfterSeconds }.`,
    };
  const callId = isRecord(data) ? data.callId : undefined;
  if (typeof callId !== "string" || !CALL_ID.test(callId))
    return {
      ok: false,
      field: "callId",
      message: `Call ${END} with { callId }: the callId that ${CALL} returned.`,
    };
  const endedAfterSeconds = isRecord(data) ? data.endedAfterSeconds : undefined;
  if (endedAfterSeconds === undefined) return { ok: true, value: { callId } };
  if (
    typeof endedAfterSeconds !== "number" ||
    !Number.isInteger(endedAfterSeconds) ||
    endedAfterSeconds < 0 ||
    endedAfterSeconds > MAX_ENDED_AFTER_SECONDS
  )
    return {
      ok: false,
      field: "endedAfterSeconds",
      message: `endedAfterSeconds must be a whole number of seconds from 0 to ${MAX_ENDED_AFTER_SECONDS}: how long the call had run when the page ended it, or left out.`,
    };
  return { ok: true, value: { callId, endedAfterSeconds } };
}

/**
 * A stable, non-identifying id of the user for OpenAI's safety checks: a keyed hash of the
 * uid, keyed by the server's key so that it cannot be recomputed from the uid alone.
 */
export function safetyIdentifier(uid: string, apiKey: string): string {
  const key = createHash("sha256").update(`realtimeCall/safety/v1\0${apiKey}`).digest();
  return createHmac("sha256", key).update(uid).digest("hex").slice(0, 32);
}

/** Remaining seconds, as the wire contract carries them. */
export function toVoiceMinutes(left: Remaining): VoiceMinutes {
  return {
    daySeconds: left.daySeconds,
    dayResetsAtMs: left.dayResetsAtMs,
    monthSeconds: left.monthSeconds,
    monthResetsAtMs: left.monthResetsAtMs,
    readAtMs: left.readAtMs,
  };
}
