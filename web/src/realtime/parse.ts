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
