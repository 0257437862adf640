import type { RealtimeServerEvent } from "openai/resources/realtime/realtime";
import { isRecord } from "./errors";

/** The result of reading one data-channel message. */
export type ParseResult =
  { ok: true; event: RealtimeServerEvent } | { ok: false; message: string; raw: unknown };

/**
 * Reads one data-channel message into a server event without throwing. Only the envelope
 * (a JSON object with a string `type`) is checked here; handlers read the fields they use
 * defensively, since a newer server may send shapes this build does not know.
 */
export function parseServerEvent(data: unknown): ParseResult {
  if (typeof data !== "string") {
    return { ok: false, message: "Expected a text message on the event channel.", raw: data };
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, message: "A message on the event channel is not JSON.", raw: data };
  }
  if (!isRecord(json) || typeof json.type !== "string" || json.type === "") {
    return { ok: false, message: "A message on the event channel has no event type.", raw: json };
  }
  return { ok: true, event: json as unknown as RealtimeServerEvent };
}

/** What the session reads from `response.done`, checked field by field. */
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
 * summarizes everything, and a partial or newer body must not take the session down.
 */
export function parseResponseDone(response: unknown): ResponseDone {
  const r = isRecord(response) ? response : {};
  const error = isRecord(r.status_details) ? r.status_details.error : null;
  const done: ResponseDone = {
    id: str(r.id),
    status: str(r.status),
    usage: r.usage,
    error:
      r.status === "failed" && isRecord(error) && str(error.message) !== null
        ? { type: str(error.type) ?? "response_failed", message: String(error.message) }
        : null,
    messageIds: [],
    calls: [],
  };
  for (const item of Array.isArray(r.output) ? r.output : []) {
    if (!isRecord(item)) continue;
    const id = str(item.id);
    const callId = str(item.call_id);
    const name = str(item.name);
    if (item.type === "message" && id) done.messageIds.push(id);
    if (item.type === "function_call" && callId && name) {
      done.calls.push({ callId, name, arguments: str(item.arguments) ?? "" });
    }
  }
  return done;
}

function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}
