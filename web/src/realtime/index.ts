/**
 * A framework-agnostic OpenAI Realtime client for the browser over WebRTC: the only module
 * the app imports from this folder (a lint rule checks), and only what the app uses. Lift
 * the folder into any app: it depends on nothing but the `openai` package's types and
 * `valibot`. Everything else is reached by its module (tests do).
 */
export { RealtimeSession } from "./session";
export { LiveSession } from "./protocol/live/session";
export type { LiveSessionOptions } from "./protocol/live/session";
export type { LiveCloseReason, LiveSessionHead } from "./protocol/live/parse";
export type { VoiceSession } from "./voiceSession";
export type { RealtimeSessionOptions } from "./session";
export { CallPreparer } from "./prepare";
export { DEFAULT_CALLS_URL } from "./exchange";
export type { SdpExchange, SecretExchangeOptions } from "./exchange";
export { RealtimeConnectError, isRecord, isSecretRejected } from "./errors";
export type { ConnectFailure, ConnectStage, ConnectWait } from "./errors";
export { addCost, costFigure, formatCost, NO_COST, priceLiveSeconds, priceResponse } from "./cost";
export type { CostFigure, CostTotals } from "./cost";
export { classifyDrop } from "./reconnect";
export type { DropClass } from "./reconnect";
export { Reconnector } from "./reconnector";
export type { ReconnectorState } from "./reconnector";
export { PushToTalk, talkKeyAction } from "./pushToTalk";
export type { PushToTalkState, ReleaseResult } from "./pushToTalk";
export { AudioUnlock } from "./audioUnlock";
export type { AudioPlayback } from "./audioUnlock";
export type {
  AudioSinkLike,
  CloseReason,
  ConnectTimings,
  ConversationEntry,
  LinkState,
  MicState,
  RealtimeTool,
  SessionProblem,
  SpeakingState,
  UsageTotals,
} from "./types";
