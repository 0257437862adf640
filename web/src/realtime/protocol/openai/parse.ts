import type { RealtimeServerEvent } from "openai/resources/realtime/realtime";
import * as v from "valibot";
import { isRecord } from "../../errors";
import { type ChannelParseResult, parseChannelEvent } from "../channelEvent";

type Of<T extends RealtimeServerEvent["type"]> = Extract<RealtimeServerEvent, { type: T }>;

/** The fields `K` of the server event `T`, typed as the `openai` package types them. */
type Fields<T extends RealtimeServerEvent["type"], K extends keyof Of<T> = never> = Pick<
  Of<T>,
  "type" | K
>;

/**
 * The head of a conversation item: what the protocol reads of one. Items are a union of nine
 * shapes in the `openai` package, and a newer server may add more; the rest of an item is
 * kept as it came.
 */
export interface ItemHead {
  type: string;
  id?: string;
  role?: string;
  content?: { type: string }[];
  call_id?: string;
  name?: string;
  arguments?: string;
}

/**
 * The server events the OpenAI Realtime protocol acts on, each with the fields it reads
 * checked (the rest is passed through unchecked). `session.created`'s `session` and
 * `response.done`'s `response` are objects whose fields the reader checks one by one.
 */
export type OpenAIServerEvent =
  | (Fields<"session.created"> & { session?: unknown })
  | Fields<"error", "error">
  | Fields<"input_audio_buffer.speech_started">
  | Fields<"input_audio_buffer.speech_stopped">
  | Fields<"input_audio_buffer.timeout_triggered">
  | (Fields<"conversation.item.added"> & { item: ItemHead })
  | Fields<"conversation.item.input_audio_transcription.delta", "item_id" | "delta">
  | Fields<"conversation.item.input_audio_transcription.completed", "item_id" | "transcript">
  | Fields<"conversation.item.input_audio_transcription.failed", "item_id">
  | Fields<"conversation.item.truncated", "item_id">
  | (Fields<"response.created"> & { response: { id?: string } })
  | (Fields<"response.output_item.added", "response_id"> & { item: ItemHead })
  | (Fields<"response.output_item.done", "response_id"> & { item: ItemHead })
  | Fields<"response.output_audio_transcript.delta", "item_id" | "delta">
  | Fields<"response.output_text.delta", "item_id" | "delta">
  | Fields<"response.output_audio_transcript.done", "item_id" | "transcript">
  | Fields<"response.output_text.done", "item_id" | "text">
  | Fields<
      "response.function_call_arguments.done",
      "response_id" | "call_id" | "name" | "arguments"
    >
  | (Fields<"response.done"> & { response: { [field: string]: unknown } })
  | Fields<"output_audio_buffer.started", "response_id">
  | Fields<"output_audio_buffer.stopped">
  | Fields<"output_audio_buffer.cleared">;

/** The type names of {@link OpenAIServerEvent}. */
export type OpenAIServerEventType = OpenAIServerEvent["type"];

/** Builds the schema of one event: its type literal and the fields given. */
function event<T extends OpenAIServerEventType, E extends v.ObjectEntries>(type: T, entries: E) {
  return v.looseObject({ type: v.literal(type), ...entries });
}

/** Each event type's schema; the compiler checks each one's output against its openai type. */
type Schemas = { [E in OpenAIServerEvent as E["type"]]: v.GenericSchema<unknown, E> };

/**
 * Built on the first message, not when the module loads: a module that runs nothing at load
 * time stays in the lazy chunk with the session, away from the page's first paint.
 */
let byType: Readonly<Partial<Record<string, v.GenericSchema<unknown, OpenAIServerEvent>>>> | null =
  null;

function schemaOf(type: string): v.GenericSchema<unknown, OpenAIServerEvent> | undefined {
  byType ??= schemas();
  return Object.hasOwn(byType, type) ? byType[type] : undefined;
}

function schemas(): Schemas {
  const str = v.string();
  const optStr = v.optional(str);
  const itemHead = v.looseObject({
    type: str,
    id: optStr,
    role: optStr,
    content: v.optional(v.array(v.looseObject({ type: str }))),
    call_id: optStr,
    name: optStr,
    arguments: optStr,
  });
  const realtimeError = v.looseObject({
    type: str,
    message: str,
    code: v.nullish(str),
    event_id: v.nullish(str),
    param: v.nullish(str),
  });
  return {
    "session.created": event("session.created", { session: v.optional(v.unknown()) }),
    error: event("error", { error: realtimeError }),
    "input_audio_buffer.speech_started": event("input_audio_buffer.speech_started", {}),
    "input_audio_buffer.speech_stopped": event("input_audio_buffer.speech_stopped", {}),
    "input_audio_buffer.timeout_triggered": event("input_audio_buffer.timeout_triggered", {}),
    "conversation.item.added": event("conversation.item.added", { item: itemHead }),
    "conversation.item.input_audio_transcription.delta": event(
      "conversation.item.input_audio_transcription.delta",
      { item_id: str, delta: optStr },
    ),
    "conversation.item.input_audio_transcription.completed": event(
      "conversation.item.input_audio_transcription.completed",
      { item_id: str, transcript: str },
    ),
    "conversation.item.input_audio_transcription.failed": event(
      "conversation.item.input_audio_transcription.failed",
      { item_id: str },
    ),
    "conversation.item.truncated": event("conversation.item.truncated", { item_id: str }),
    "response.created": event("response.created", { response: v.looseObject({ id: optStr }) }),
    "response.output_item.added": event("response.output_item.added", {
      response_id: str,
      item: itemHead,
    }),
    "response.output_item.done": event("response.output_item.done", {
      response_id: str,
      item: itemHead,
    }),
    "response.output_audio_transcript.delta": event("response.output_audio_transcript.delta", {
      item_id: str,
      delta: str,
    }),
    "response.output_text.delta": event("response.output_text.delta", { item_id: str, delta: str }),
    "response.output_audio_transcript.done": event("response.output_audio_transcript.done", {
      item_id: str,
      transcript: str,
    }),
    "response.output_text.done": event("response.output_text.done", { item_id: str, text: str }),
    "response.function_call_arguments.done": event("response.function_call_arguments.done", {
      response_id: str,
      call_id: str,
      name: str,
      arguments: str,
    }),
    "response.done": event("response.done", { response: v.looseObject({}) }),
    "output_audio_buffer.started": event("output_audio_buffer.started", { response_id: str }),
    "output_audio_buffer.stopped": event("output_audio_buffer.stopped", {}),
    "output_audio_buffer.cleared": event("output_audio_buffer.cleared", {}),
  };
}

/** One data-channel message read as OpenAI Realtime's (see {@link ChannelParseResult}). */
export type ParseResult = ChannelParseResult<OpenAIServerEvent>;

/** Reads one data-channel message into a checked server event without throwing. */
export function parseServerEvent(data: unknown): ParseResult {
  return parseChannelEvent(data, schemaOf);
}

/** What the protocol reads from `response.done`, checked field by field. */
export interface ResponseDone {
  /** Null when the server sent none: nothing can then be matched to it. */
  id: string | null;
  /** `completed`, `cancelled`, `failed`, `incomplete`, or whatever a newer server sends. */
  status: string | null;
  /** The raw `usage`, for `addUsage` (which reads it defensively). */
  usage: unknown;
  /** `status_details.error` of a failed response. */
  error: { type: string; message: string } | null;
  /** Assistant messages of the response, by item id. */
  messageIds: string[];
  /** Function calls seen in the output. */
  calls: { callId: string; name: string; arguments: string }[];
}

/**
 * Reads `response.done`'s `response` without trusting its shape: it is the one event that
 * summarizes everything, and a partial or newer body must not take the session down, so
 * each part is taken when it checks and skipped when it does not.
 */
export function parseResponseDone(response: unknown): ResponseDone {
  const r = isRecord(response) ? response : {};
  const error = isRecord(r.status_details) ? r.status_details.error : null;
  const done: ResponseDone = {
    id: text(r.id),
    status: text(r.status),
    usage: r.usage,
    error:
      r.status === "failed" && isRecord(error) && text(error.message) !== null
        ? { type: text(error.type) ?? "response_failed", message: String(error.message) }
        : null,
    messageIds: [],
    calls: [],
  };
  for (const item of Array.isArray(r.output) ? r.output : []) {
    if (!isRecord(item)) continue;
    const id = text(item.id);
    const callId = text(item.call_id);
    const name = text(item.name);
    if (item.type === "message" && id) done.messageIds.push(id);
    if (item.type === "function_call" && callId && name) {
      done.calls.push({ callId, name, arguments: text(item.arguments) ?? "" });
    }
  }
  return done;
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
