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
export { callableTokenFetcher, REALTIME_TOKEN_FUNCTION } from "./callable";
export { tokenDropClass } from "./reconnect";
