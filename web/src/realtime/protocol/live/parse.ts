/*
 * GPT-Live's server events as the page reads them: each checked at the boundary against the
 * fields the protocol uses, typed as the `openai` package types them, without throwing.
 */
import type { ServerEvent } from "openai/resources/live/live";
import * as v from "valibot";
import { type ChannelParseResult, parseChannelEvent } from "../channelEvent";

type Of<T extends ServerEvent["type"]> = Extract<ServerEvent, { type: T }>;

/** The fields `K` of the server event `T`, typed as the `openai` package types them. */
type Fields<T extends ServerEvent["type"], K extends keyof Of<T> = never> = Pick<Of<T>, "type" | K>;

/** What the page reads of a Live session resource (`session.started`, `session.closed`). */
export interface LiveSessionHead {
  id: string;
  model: string;
  expires_at?: number;
}

/**
 * The Live server events the page acts on, each with the fields it reads checked (the rest
 * is passed through unchecked).
 */
export type LiveServerEvent =
  | (Fields<"session.started"> & { session: LiveSessionHead })
  | Fields<"session.input_transcript.delta", "delta">
  | Fields<"session.output_transcript.delta", "delta">
  | Fields<"session.input_audio.muted">
  | Fields<"session.input_audio.unmuted">
  | Fields<"session.usage.updated", "usage">
  | (Fields<"session.closed", "reason" | "usage"> & { session?: unknown })
  | Fields<"error", "error">
  | Fields<"info", "code" | "message">;

/** The type names of {@link LiveServerEvent}. */
export type LiveServerEventType = LiveServerEvent["type"];

/** Why a Live session closed, as `session.closed` says. */
export type LiveCloseReason = Of<"session.closed">["reason"];

/** Every {@link LiveCloseReason}, as the `openai` package lists them. */
export const LIVE_CLOSE_REASONS = [
  "close_requested",
  "expired",
  "content",
  "remote_hangup",
  "connection_lost",
] as const satisfies readonly LiveCloseReason[];

function event<T extends LiveServerEventType, E extends v.ObjectEntries>(type: T, entries: E) {
  return v.looseObject({ type: v.literal(type), ...entries });
}

type Schemas = { [E in LiveServerEvent as E["type"]]: v.GenericSchema<unknown, E> };

/** Built on the first message, so the module runs nothing at load time. */
let byType: Readonly<Partial<Record<string, v.GenericSchema<unknown, LiveServerEvent>>>> | null =
  null;

function schemaOf(type: string): v.GenericSchema<unknown, LiveServerEvent> | undefined {
  byType ??= schemas();
  return Object.hasOwn(byType, type) ? byType[type] : undefined;
}

function schemas(): Schemas {
  const str = v.string();
  const seconds = v.pipe(v.number(), v.finite(), v.minValue(0));
  const usage = v.looseObject({ seconds });
  const session = v.looseObject({ id: str, model: str, expires_at: v.optional(v.number()) });
  return {
    "session.started": event("session.started", { session }),
    "session.input_transcript.delta": event("session.input_transcript.delta", { delta: str }),
    "session.output_transcript.delta": event("session.output_transcript.delta", { delta: str }),
    "session.input_audio.muted": event("session.input_audio.muted", {}),
    "session.input_audio.unmuted": event("session.input_audio.unmuted", {}),
    "session.usage.updated": event("session.usage.updated", { usage }),
    "session.closed": event("session.closed", {
      reason: v.picklist(LIVE_CLOSE_REASONS),
      usage,
      session: v.optional(v.unknown()),
    }),
    error: event("error", {
      error: v.looseObject({
        type: str,
        code: str,
        message: str,
        param: v.optional(str),
        client_event_id: v.optional(str),
      }),
    }),
    info: event("info", { code: str, message: str }),
  };
}

/** One data-channel message read as GPT-Live's (see {@link ChannelParseResult}). */
export type LiveParseResult = ChannelParseResult<LiveServerEvent>;

/** Reads one data-channel message into a checked Live server event without throwing. */
export function parseLiveServerEvent(data: unknown): LiveParseResult {
  return parseChannelEvent(data, schemaOf);
}
