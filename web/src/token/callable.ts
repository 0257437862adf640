import { httpsCallable, type Functions } from "firebase/functions";
import type { RealtimeTokenRequest, RealtimeTokenResponse } from "../../../functions/src/contract";
import type { TokenFetcher } from "./provider";

/** The callable's name (see `functions/src/index.ts`). */
export const REALTIME_TOKEN_FUNCTION = "realtimeToken";

/**
 * A {@link TokenFetcher} backed by the `realtimeToken` callable. Every call carries a fresh
 * limited-use App Check token: the function consumes it, so a captured request cannot be
 * replayed to mint more secrets.
 */
export function callableTokenFetcher(functions: Functions): TokenFetcher {
  const callable = httpsCallable<RealtimeTokenRequest, RealtimeTokenResponse>(
    functions,
    REALTIME_TOKEN_FUNCTION,
    { limitedUseAppCheckTokens: true },
  );
  return async (request) => (await callable(request)).data;
}
