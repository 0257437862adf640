/**
 * A framework-agnostic OpenAI Realtime client for the browser over WebRTC.
 * Lift this folder into any app: it depends on nothing but the `openai` package's types.
 */
export { RealtimeSession, DEFAULT_CALLS_URL, EVENTS_CHANNEL, callIdFromLocation } from "./session";
export type { RealtimeSessionOptions } from "./session";
export { RealtimeCallError, RealtimeConnectError, parseOpenAIErrorBody } from "./errors";
export { parseServerEvent } from "./parse";
export type { ParseResult } from "./parse";
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
export { DEFAULT_RESTORE_BUDGET, restoreContext } from "./restore";
export type { RestoreBudget, RestorePlan } from "./restore";
export { DEFAULT_MIN_HOLD_MS, gateTrack, PushToTalk, talkKeyAction } from "./pushToTalk";
export type { PushToTalkOptions, PushToTalkState, ReleaseResult, TalkKeyEvent } from "./pushToTalk";
export { AudioUnlock } from "./audioUnlock";
export type { AudioPlayback } from "./audioUnlock";
export type * from "./types";
