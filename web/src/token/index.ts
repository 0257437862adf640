/** The token provider: the only module the app imports from this folder (a lint rule checks). */
export { CachedTokenProvider, parseTokenResponse, requestKey } from "./provider";
export type {
  CachedTokenProviderOptions,
  TokenFetcher,
  TokenGrant,
  TokenListener,
  TokenSource,
} from "./provider";
export { TokenError, toTokenError, formatWait } from "./errors";
export type { TokenErrorKind } from "./errors";
export { browserSharedSecrets } from "./shared";
export type { SharedSecrets } from "./shared";
export {
  callableBrokeredCalls,
  callableTokenFetcher,
  END_REALTIME_CALL_FUNCTION,
  REALTIME_CALL_FUNCTION,
  REALTIME_CALL_TIMEOUT_MS,
  REALTIME_TOKEN_FUNCTION,
} from "./callable";
export type { BrokeredCallables } from "./callable";
export { BrokeredCallError, brokeredExchange, toBrokeredConnectError } from "./brokered";
export type { BrokeredCallOpened, BrokeredExchangeOptions } from "./brokered";
export { tokenDropClass } from "./reconnect";
export { callableUrl, PageHideEnd } from "./pageHideEnd";
export type { BeaconFetch, PageHideEndOptions } from "./pageHideEnd";
