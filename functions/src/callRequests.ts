/**
 * What the brokered callables read from a request and put on the wire, decided without I/O:
 * the parsers of `realtimeCall` (a call to open, or `{ prepare: true }`) and `endRealtimeCall`,
 * the caller's safety identifier, and remaining minutes in the contract's units.
 */
import { createHash, createHmac } from "node:crypto";
import {
  isRecord,
  isVoiceApi,
  MAX_PRIOR_CHARS,
  MAX_PRIOR_TURNS,
  type PriorTurn,
  type VoiceApi,
  VOICE_APIS,
  type VoiceMinutes,
} from "voice-contract";
import type { Failure } from "./failure";
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
  | {
      kind: "open";
      offer: string;
      choices: SessionChoices;
      /** The upstream the caller asked for; null: the server's default. */
      api: VoiceApi | null;
      /** A reconnecting Live call's conversation so far; empty for a fresh call. */
      priorTurns: PriorTurn[];
    }
  | { kind: "prepare" };

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
  const { offer, api, priorTurns, ...rest } = data as Record<string, unknown>;
  if (offer === undefined)
    return { ok: false, field: "offer", message: "The request has no offer (the SDP offer text)." };
  const checked = checkOffer(offer);
  if (!checked.ok) return { ok: false, field: "offer", message: checked.message };
  if (api !== undefined && !isVoiceApi(api))
    return {
      ok: false,
      field: "api",
      message: `api must be one of ${VOICE_APIS.join(", ")} (one of the prepare result's apis), or left out for the server's default.`,
    };
  const turns = parsePriorTurns(priorTurns);
  if (!turns.ok) return turns;
  const choices = parseTokenRequest(rest, settings.choices);
  if (!choices.ok) return choices;
  return {
    ok: true,
    value: {
      kind: "open",
      offer: checked.sdp,
      choices: choices.value,
      api: api ?? null,
      priorTurns: turns.value,
    },
  };
}

const PRIOR_TURNS_SHAPE =
  'priorTurns must be a list of { role: "user" | "assistant", text } (the transcripts so far), or left out';

/**
 * Checks a reconnecting call's conversation so far: at most {@link MAX_PRIOR_TURNS} turns,
 * each a role and a non-empty text, {@link MAX_PRIOR_CHARS} characters in all.
 */
export function parsePriorTurns(value: unknown): ParseResult<PriorTurn[]> {
  if (value === undefined) return { ok: true, value: [] };
  const bad = (message: string): ParseResult<PriorTurn[]> => ({
    ok: false,
    field: "priorTurns",
    message,
  });
  if (!Array.isArray(value)) return bad(`${PRIOR_TURNS_SHAPE}.`);
  if (value.length > MAX_PRIOR_TURNS)
    return bad(
      `priorTurns has ${value.length} turns; at most ${MAX_PRIOR_TURNS} are accepted: send the latest.`,
    );
  const turns: PriorTurn[] = [];
  let chars = 0;
  for (const [index, turn] of (value as unknown[]).entries()) {
    if (
      !isRecord(turn) ||
      Object.keys(turn).some((key) => key !== "role" && key !== "text") ||
      (turn.role !== "user" && turn.role !== "assistant") ||
      typeof turn.text !== "string" ||
      turn.text === ""
    )
      return bad(`${PRIOR_TURNS_SHAPE}; turn ${index} is not.`);
    chars += turn.text.length;
    turns.push({ role: turn.role, text: turn.text });
  }
  if (chars > MAX_PRIOR_CHARS)
    return bad(
      `priorTurns holds ${chars} characters; at most ${MAX_PRIOR_CHARS} are accepted: send the latest turns.`,
    );
  return { ok: true, value: turns };
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

/**
 * The upstream a call opens on: the one asked for if `served` has it, else the first of
 * `served`. Prior turns are Live's prior context; a Realtime call has no such field (its page
 * replays the conversation over its own data channel), so they are refused there rather than
 * dropped.
 */
export function chooseApi(
  input: Pick<Extract<CallInput, { kind: "open" }>, "api" | "priorTurns">,
  served: readonly [VoiceApi, ...VoiceApi[]],
): { ok: true; api: VoiceApi } | { ok: false; failure: Failure } {
  const api = input.api ?? served[0];
  if (!served.includes(api))
    return { ok: false, failure: { kind: "api-not-served", api, served: [...served] } };
  if (api !== "live" && input.priorTurns.length > 0)
    return {
      ok: false,
      failure: {
        kind: "bad-input",
        field: "priorTurns",
        message: `priorTurns are for Live calls only; a ${api} call replays the conversation over its data channel. Leave priorTurns out.`,
      },
    };
  return { ok: true, api };
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
