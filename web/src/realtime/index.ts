/**
 * A framework-agnostic OpenAI Realtime client for the browser over WebRTC: the only module
 * the app imports from this folder (a lint rule checks). Lift the folder into any app: it
 * depends on nothing but the `openai` package's types.
 */
export { RealtimeSession } from "./session";
export type { RealtimeSessionBaseOptions, RealtimeSessionOptions } from "./session";
export { DEFAULT_DEADLINES, EVENTS_CHANNEL } from "./call";
export type { ConnectDeadlines } from "./call";
export { CallPreparer, prepareCall } from "./prepare";
export type { CallPreparerOptions, PreparedCall } from "./prepare";
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
export { addCost, costFigure, costOf, formatCost, NO_COST, priceResponse } from "./cost";
export type { CostFigure, CostTotals, PricedTokens, ResponseCost } from "./cost";
export { PRICES_AS_OF, PRICES_SOURCE, pricesFor, REALTIME_PRICES } from "./prices";
export type { TokenPrices } from "./prices";
export {
  backoffDelayMs,
  classifyDrop,
  decideReconnect,
  DEFAULT_RECONNECT_POLICY,
} from "./reconnect";
export type { DropClass, ReconnectDecision, ReconnectPolicy } from "./reconnect";
export { Reconnector } from "./reconnector";
export type {
  ReconnectableSession,
  ReconnectorEventMap,
  ReconnectorOptions,
  ReconnectorState,
} from "./reconnector";
export { DEFAULT_RESTORE_BUDGET, restoreContext } from "./restore";
export type { RestoreBudget, RestorePlan } from "./restore";
export { DEFAULT_MIN_HOLD_MS, gateSender, PushToTalk, talkKeyAction } from "./pushToTalk";
export type { PushToTalkOptions, PushToTalkState, ReleaseResult, TalkKeyEvent } from "./pushToTalk";
export { AudioUnlock } from "./audioUnlock";
export type { AudioPlayback } from "./audioUnlock";
export type * from "./types";
