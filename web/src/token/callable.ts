import { httpsCallable, type Functions } from "firebase/functions";
import type { RealtimeTokenRequest, RealtimeTokenResponse } from "../../../functions/src/contract";
import type { TokenFetcher } from "./provider";

/** The callable's name (see `functions/src/index.ts`). */
export const REALTIME_TOKEN_FUNCTION = "realtimeToken";

/** The SDK's own deadline for one call (its default is 70 s). */
export const TOKEN_CALL_TIMEOUT_MS = 15_000;

/**
 * A {@link TokenFetcher} backed by the `realtimeToken` callable. Every call carries a fresh
 * limited-use App Check token: the function consumes it, so a captured request cannot be
 * replayed to mint more secrets. A call unanswered after `timeoutMs` fails with
 * `deadline-exceeded`.
 */
export function callableTokenFetcher(
  functions: Functions,
  timeoutMs = TOKEN_CALL_TIMEOUT_MS,
): TokenFetcher {
  const callable = httpsCallable<RealtimeTokenRequest, RealtimeTokenResponse>(
    functions,
    REALTIME_TOKEN_FUNCTION,
    { limitedUseAppCheckTokens: true, timeout: timeoutMs },
  );
  return async (request) => (await callable(request)).data;
}
