/**
 * Everything that talks to our Cloud Functions: the token provider, the brokered SDP exchange,
 * ending calls (also as the page goes away). One of the folder's two public modules (a lint
 * rule checks): the callables, which load the Functions SDK, come through `functions.ts`, so
 * what first paint imports from here does not load it. The wire contract itself is the
 * `voice-contract` package.
 */
export { CachedTokenProvider } from "./provider";
export { TokenError } from "./tokenError";
export type { TokenErrorKind } from "./tokenError";
export { browserSharedSecrets } from "./shared";
export { BrokeredCallError, brokeredExchange } from "./brokered";
export type { BrokeredCallChoices, BrokeredCallOpened } from "./brokered";
export { tokenDropClass } from "./reconnect";
export { callableUrl, PageHideEnd } from "./pageHideEnd";
export { PendingEnds } from "./pendingEnds";
export { OperatorError, toOperatorError } from "./operatorUsage";
export type { OperatorErrorKind } from "./operatorUsage";
export type { EndStorage, PendingEnd } from "./pendingEnds";
