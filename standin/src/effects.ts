/**
 * The conversation's only output: what the call wiring must do on its behalf. Keeping the
 * conversation to returned values (no I/O, no clock) is what lets its tests run without
 * WebRTC.
 */
import type { RealtimeServerEvent } from "openai/resources/realtime/realtime";

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
