/**
 * A framework-agnostic OpenAI Realtime client for the browser over WebRTC: the only module
 * the app imports from this folder (a lint rule checks). Lift the folder into any app: it
 * depends on nothing but the `openai` package's types.
 */
export { RealtimeSession } from "./session";
export type { RealtimeSessionBaseOptions, RealtimeSessionOptions } from "./session";
export { DEFAULT_DEADLINES, EVENTS_CHANNEL } from "./call";
export type { ConnectDeadlines } from "./call";
export { DEFAULT_CALLS_URL, callIdFromLocation, secretExchange } from "./exchange";
export type { ExchangeResult, SdpExchange, SecretExchangeOptions } from "./exchange";
export {
  RealtimeCallError,
  RealtimeConnectError,
  isRecord,
  isSecretRejected,
  messageOf,
  parseOpenAIErrorBody,
  withFullStop,
} from "./errors";
export type { ConnectFailure, ConnectStage } from "./errors";
export { parseResponseDone, parseServerEvent } from "./parse";
export type { ParseResult, ResponseDone } from "./parse";
export type * from "./types";
