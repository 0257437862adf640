import { httpsCallable, type Functions } from "firebase/functions";
import {
  END_REALTIME_CALL_FUNCTION,
  OPERATOR_USAGE_FUNCTION,
  REALTIME_CALL_FUNCTION,
  REALTIME_TOKEN_FUNCTION,
  type EndRealtimeCallRequest,
  type EndRealtimeCallResponse,
  type OperatorUsageRequest,
  type OperatorUsageResponse,
  type RealtimeCallPrepared,
  type RealtimeCallPrepareRequest,
  type RealtimeCallRequest,
  type RealtimeCallResponse,
  type RealtimeTokenRequest,
  type RealtimeTokenResponse,
} from "voice-contract";
import type { BrokeredExchangeOptions } from "./brokered";
import { readOperatorUsage } from "./operatorUsage";
import type { TokenFetcher } from "./provider";

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

/** The SDK's deadline for one brokered call: the server posts the offer upstream first. */
export const REALTIME_CALL_TIMEOUT_MS = 30_000;

/** The brokered callables as plain functions: the exchange's `call` and `end`, and `prepare`. */
export interface BrokeredCallables extends Pick<BrokeredExchangeOptions, "call" | "end"> {
  /** `realtimeCall` with `{ prepare: true }`: the user's minutes; opens nothing. */
  prepare: () => Promise<RealtimeCallPrepared>;
}

/**
 * {@link BrokeredCallables} backed by the `realtimeCall` and `endRealtimeCall` callables,
 * each with a fresh limited-use App Check token. A call unanswered after `timeoutMs` fails
 * with `deadline-exceeded`. `prepare` and `call` are one function at one URL with the same
 * headers, so the CORS preflight that `prepare` caused is the one the click's `call` reuses.
 */
export function callableBrokeredCalls(
  functions: Functions,
  timeoutMs = REALTIME_CALL_TIMEOUT_MS,
): BrokeredCallables {
  const options = { limitedUseAppCheckTokens: true, timeout: timeoutMs };
  const call = httpsCallable<RealtimeCallRequest, RealtimeCallResponse>(
    functions,
    REALTIME_CALL_FUNCTION,
    options,
  );
  const prepare = httpsCallable<RealtimeCallPrepareRequest, RealtimeCallPrepared>(
    functions,
    REALTIME_CALL_FUNCTION,
    options,
  );
  const end = httpsCallable<EndRealtimeCallRequest, EndRealtimeCallResponse>(
    functions,
    END_REALTIME_CALL_FUNCTION,
    options,
  );
  return {
    call: async (request) => (await call(request)).data,
    end: async (request) => (await end(request)).data,
    prepare: async () => (await prepare({ prepare: true })).data,
  };
}

/** The SDK's deadline for `operatorUsage`: it reads a month of records. */
export const OPERATOR_USAGE_TIMEOUT_MS = 30_000;

/**
 * The `operatorUsage` callable as a plain function, its answer checked
 * ({@link readOperatorUsage}). Errors are the SDK's own: map them with `toOperatorError`.
 * Limited-use App Check tokens work whether or not the function consumes them.
 */
export function callableOperatorUsage(
  functions: Functions,
  timeoutMs = OPERATOR_USAGE_TIMEOUT_MS,
): (request: OperatorUsageRequest) => Promise<OperatorUsageResponse> {
  const callable = httpsCallable<OperatorUsageRequest, unknown>(
    functions,
    OPERATOR_USAGE_FUNCTION,
    { limitedUseAppCheckTokens: true, timeout: timeoutMs },
  );
  return async (request) => readOperatorUsage((await callable(request)).data);
}
