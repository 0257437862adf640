/**
 * The conversation's only output: what the call wiring must do on its behalf. Keeping the
 * conversation to returned values (no I/O, no clock) is what lets its tests run without
 * WebRTC.
 */
import type {
  RealtimeError,
  RealtimeErrorEvent,
  RealtimeServerEvent,
} from "openai/resources/realtime/realtime";
import type { NewId } from "./ids.js";

/** What the call wiring must do on the conversation's behalf. */
export type Effect =
  | { kind: "send"; event: RealtimeServerEvent }
  | { kind: "audio.start"; responseId: string; durationMs: number }
  | { kind: "audio.stop"; responseId: string };

/**
 * Sends an event. Events are snapshots: items keep changing after an event about them was
 * queued, so the event is copied here.
 */
export const send = (event: RealtimeServerEvent): Effect => ({
  kind: "send",
  event: structuredClone(event),
});

/** Sends an `error` event; the call stays up. */
export const sendError = (newId: NewId, error: RealtimeError): Effect =>
  send({ type: "error", event_id: newId("event"), error } satisfies RealtimeErrorEvent);

/**
 * An `invalid_request_error` answering the client event `clientEventId` (`null` when the
 * error answers none, or its id was unreadable).
 */
export const invalidRequest = (
  code: string,
  message: string,
  param: string | null,
  clientEventId: string | null,
): RealtimeError => ({
  type: "invalid_request_error",
  code,
  message,
  param,
  event_id: clientEventId,
});
