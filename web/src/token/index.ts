export { CachedTokenProvider, parseTokenResponse, requestKey } from "./provider";
export type { CachedTokenProviderOptions, TokenFetcher, TokenListener } from "./provider";
export { TokenError, toTokenError, formatWait } from "./errors";
export type { TokenErrorKind } from "./errors";
export { tokenDropClass } from "./reconnect";
