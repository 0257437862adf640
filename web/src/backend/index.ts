/**
 * Everything that talks to our Cloud Functions: the callables through the Firebase SDK, the
 * token provider, the brokered SDP exchange, ending calls (also as the page goes away). The
 * only module the app imports from this folder (a lint rule checks); the wire contract itself
 * is the `voice-contract` package.
 */
export { CachedTokenProvider } from "./provider";
export { TokenError } from "./tokenError";
export type { TokenErrorKind } from "./tokenError";
export { browserSharedSecrets } from "./shared";
export { callableBrokeredCalls, callableTokenFetcher } from "./callable";
export type { BrokeredCallables } from "./callable";
export { connectFunctions } from "./functions";
export { BrokeredCallError, brokeredExchange } from "./brokered";
export type { BrokeredCallOpened } from "./brokered";
export { tokenDropClass } from "./reconnect";
export { callableUrl, PageHideEnd } from "./pageHideEnd";
