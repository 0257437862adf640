/**
 * A framework-agnostic OpenAI Realtime client for the browser over WebRTC.
 * Lift this folder into any app: it depends on nothing but the `openai` package's types.
 */
export { RealtimeSession, DEFAULT_CALLS_URL, EVENTS_CHANNEL, callIdFromLocation } from "./session";
export type { RealtimeSessionOptions } from "./session";
export { RealtimeCallError, RealtimeConnectError, parseOpenAIErrorBody } from "./errors";
export { parseServerEvent } from "./parse";
export type { ParseResult } from "./parse";
export type * from "./types";
