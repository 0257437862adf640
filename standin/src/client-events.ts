/**
 * The boundary for data-channel input: turns a raw message into a typed client event or
 * into the error upstream would report. Never throws, whatever arrives.
 */
import type {
  ConversationItem,
  RealtimeClientEvent,
  RealtimeError,
  RealtimeResponseCreateParams,
} from "openai/resources/realtime/realtime";
import { errorBody, errors, type ApiError } from "./api-errors.js";
import { validateSessionRequest } from "./session.js";
import { allKeys, allMembers } from "./type-utils.js";
import * as v from "./validate.js";

type ClientEventType = RealtimeClientEvent["type"];

export const CLIENT_EVENT_TYPES = allMembers<ClientEventType>()([
  "session.update",
  "conversation.item.create",
  "conversation.item.retrieve",
  "conversation.item.truncate",
  "conversation.item.delete",
  "input_audio_buffer.append",
  "input_audio_buffer.commit",
  "input_audio_buffer.clear",
  "output_audio_buffer.clear",
  "response.create",
  "response.cancel",
]);

export type ParsedClientEvent =
  { ok: true; event: RealtimeClientEvent } | { ok: false; error: RealtimeError; type?: string };

const RESPONSE_KEYS = allKeys<RealtimeResponseCreateParams>()([
  "audio",
  "conversation",
  "input",
  "instructions",
  "max_output_tokens",
  "metadata",
  "output_modalities",
  "parallel_tool_calls",
  "prompt",
  "reasoning",
  "tool_choice",
  "tools",
]);

/** Fields every client event may carry besides its own. */
const COMMON = ["type", "event_id"];

/**
 * Parses one data-channel message. On failure the returned error already carries the
 * client's `event_id` (when it could be read) so it can go straight into an `error` event.
 */
export function parseClientEvent(raw: string | Buffer): ParsedClientEvent {
  let data: unknown;
  try {
    data = JSON.parse(typeof raw === "string" ? raw : raw.toString("utf8"));
  } catch {
    return {
      ok: false,
      error: {
        type: "invalid_request_error",
        code: "invalid_json",
        message: "The server failed to parse the event as JSON. Events must be JSON text messages.",
        param: null,
        event_id: null,
      },
    };
  }
  if (!v.isObject(data)) return failed(errors.invalidType("", "an object", data), null);
  const eventId = typeof data.event_id === "string" ? data.event_id : null;
  const problem = checkEvent(data);
  if (problem)
    return {
      ...failed(problem, eventId),
      ...(typeof data.type === "string" ? { type: data.type } : {}),
    };
  return { ok: true, event: data as unknown as RealtimeClientEvent };
}

function failed(problem: ApiError, eventId: string | null): ParsedClientEvent {
  return { ok: false, error: { ...errorBody(problem), event_id: eventId } };
}

function checkEvent(e: v.JsonObject): v.Check {
  const base =
    v.requireKeys(e, "", ["type"]) ??
    v.oneOf(e.type, "type", CLIENT_EVENT_TYPES) ??
    v.optional(e.event_id, (x) => v.string(x, "event_id"));
  if (base) return base;
  const type = e.type as ClientEventType;
  const fields = (own: string[], required: string[] = own) =>
    v.unknownKeys(e, "", [...COMMON, ...own]) ?? v.requireKeys(e, "", required);
  switch (type) {
    case "session.update": {
      const problem = fields(["session"]);
      return (
        problem ?? (validateSessionRequest(e.session, "session") as { error?: ApiError }).error
      );
    }
    case "conversation.item.create":
      return (
        fields(["item", "previous_item_id"], ["item"]) ??
        v.optional(e.previous_item_id, (x) => v.string(x, "previous_item_id")) ??
        checkItem(e.item, "item")
      );
    case "conversation.item.retrieve":
    case "conversation.item.delete":
      return fields(["item_id"]) ?? v.string(e.item_id, "item_id");
    case "conversation.item.truncate":
      return (
        fields(["item_id", "content_index", "audio_end_ms"]) ??
        v.string(e.item_id, "item_id") ??
        v.integer(e.content_index, "content_index", 0) ??
        v.integer(e.audio_end_ms, "audio_end_ms", 0)
      );
    case "input_audio_buffer.append":
      return fields(["audio"]) ?? v.string(e.audio, "audio");
    case "input_audio_buffer.commit":
    case "input_audio_buffer.clear":
    case "output_audio_buffer.clear":
      return fields([]);
    case "response.create":
      return (
        fields(["response"], []) ??
        v.optional(e.response, (r) => checkResponseParams(r, "response"))
      );
    case "response.cancel":
      return (
        fields(["response_id"], []) ?? v.optional(e.response_id, (x) => v.string(x, "response_id"))
      );
  }
}

const ITEM_TYPES = ["message", "function_call", "function_call_output"];
const CONTENT_TYPES: Record<string, string[]> = {
  user: ["input_text", "input_audio", "input_image"],
  system: ["input_text"],
  assistant: ["output_text", "output_audio"],
};

/** Items a client may add. MCP items exist upstream but need network tools the stand-in lacks. */
function checkItem(value: unknown, path: string): v.Check {
  const at = (key: string) => v.join(path, key);
  if (!v.isObject(value)) return errors.invalidType(path, "an object", value);
  const base =
    v.requireKeys(value, path, ["type"]) ??
    v.oneOf(value.type, at("type"), ITEM_TYPES) ??
    v.optional(value.id, (x) => v.string(x, at("id"))) ??
    v.optional(value.object, (x) => v.oneOf(x, at("object"), ["realtime.item"])) ??
    v.optional(value.status, (x) =>
      v.oneOf(x, at("status"), ["completed", "incomplete", "in_progress"]),
    );
  if (base) return base;
  const common = ["type", "id", "object", "status"];
  const item = value as Partial<Record<string, unknown>>;
  switch (value.type as ConversationItem["type"]) {
    case "function_call":
      return (
        v.object(value, path, [...common, "name", "arguments", "call_id"], ["name", "arguments"]) ??
        v.string(item.name, at("name")) ??
        v.string(item.arguments, at("arguments")) ??
        v.optional(item.call_id, (x) => v.string(x, at("call_id")))
      );
    case "function_call_output":
      return (
        v.object(value, path, [...common, "call_id", "output"], ["call_id", "output"]) ??
        v.string(item.call_id, at("call_id")) ??
        v.string(item.output, at("output"))
      );
    default: {
      const problem =
        v.object(value, path, [...common, "role", "content"], ["role", "content"]) ??
        v.oneOf(item.role, at("role"), ["user", "assistant", "system"]);
      if (problem) return problem;
      const allowed = CONTENT_TYPES[item.role as string] ?? [];
      return v.array(item.content, at("content"), (part, partPath) =>
        checkContent(part, partPath, allowed),
      );
    }
  }
}

function checkContent(value: unknown, path: string, allowedTypes: string[]): v.Check {
  const part = value as v.JsonObject;
  const at = (key: string) => v.join(path, key);
  return (
    v.object(
      value,
      path,
      ["type", "text", "audio", "transcript", "image_url", "detail"],
      ["type"],
    ) ??
    v.oneOf(part.type, at("type"), allowedTypes) ??
    v.optional(part.text, (x) => v.string(x, at("text"))) ??
    v.optional(part.audio, (x) => v.string(x, at("audio"))) ??
    v.optional(part.transcript, (x) => (x === null ? undefined : v.string(x, at("transcript")))) ??
    ((part.type === "input_text" || part.type === "output_text") && part.text === undefined
      ? errors.missingParameter(at("text"))
      : undefined)
  );
}

function checkResponseParams(value: unknown, path: string): v.Check {
  const r = value as v.JsonObject;
  const at = (key: string) => v.join(path, key);
  return (
    v.object(value, path, RESPONSE_KEYS) ??
    v.optional(r.conversation, (x) => v.string(x, at("conversation"))) ??
    v.optional(r.instructions, (x) => v.string(x, at("instructions"))) ??
    v.optional(r.output_modalities, (x) => {
      const problem = v.array(x, at("output_modalities"), (e, p) =>
        v.oneOf(e, p, ["audio", "text"]),
      );
      return (
        problem ??
        ((x as unknown[]).length === 1
          ? undefined
          : errors.invalidValue(at("output_modalities"), x))
      );
    }) ??
    v.optional(r.metadata, (x) =>
      x === null || v.isObject(x) ? undefined : errors.invalidType(at("metadata"), "an object", x),
    ) ??
    v.optional(r.input, (x) => v.array(x, at("input"), checkItem))
  );
}
