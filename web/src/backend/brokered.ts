/*
 * The brokered SDP exchange: the backend's `realtimeCall` callable posts the browser's offer
 * upstream with the server's key and returns the answer, so no secret ever reaches the page.
 * The callables are injected as plain functions; realtime/ stays free of Firebase.
 */
import {
  CALL_LIMIT_REASONS,
  checkResponse,
  isMinuteLimitReason,
  MINUTE_BUDGETS,
  refusalMessage,
  RealtimeCallResponseSchema,
  UPSTREAM_TIMEOUT_REASON,
  type CallLimitReason,
  type EndRealtimeCallRequest,
  type EndRealtimeCallResponse,
  type RealtimeCallRequest,
  type RealtimeCallResponse,
  type RealtimeMode,
  type VoiceApi,
  type VoiceMinutes,
} from "voice-contract";
import {
  RealtimeConnectError,
  type ConnectFailure,
  type ConnectWait,
  type SdpExchange,
} from "../realtime";
import { readCallableError, refusalOf } from "./errors";

/** A `realtimeCall` request without its offer: the choices, the API, the prior turns. */
export type BrokeredCallChoices = Omit<RealtimeCallRequest, "offer">;

/** What the broker said about an open call, besides the answer. */
export type BrokeredCallOpened = Omit<RealtimeCallResponse, "answer">;

/** Options of {@link brokeredExchange}. */
export interface BrokeredExchangeOptions {
  /**
   * The `realtimeCall` callable: resolves with its result, rejects with its `FunctionsError`.
   * `signal` is the connect attempt's: a wrapper that waits before calling should not call
   * once it has aborted (the callable itself cannot be cancelled).
   */
  call: (request: RealtimeCallRequest, signal: AbortSignal) => Promise<RealtimeCallResponse>;
  /** The `endRealtimeCall` callable; used to hang up a call that nobody will hold. */
  end: (request: EndRealtimeCallRequest) => Promise<EndRealtimeCallResponse | unknown>;
  /**
   * The session choices sent with every offer, and the API (`api`) the call must run on: an
   * answer on another API is refused (the session speaks the named API's events).
   */
  choices?: BrokeredCallChoices;
  /** Told when a call opened: its id, deadline (`endsAtMs`), slice and remaining minutes. */
  onOpened?: (opened: BrokeredCallOpened) => void;
}

/**
 * Why the broker refused a call, as typed fields; the `cause` of the
 * {@link RealtimeConnectError} that {@link brokeredExchange} rejects with. `cause` of this
 * error is the callable's original error.
 */
export class BrokeredCallError extends Error {
  override readonly name = "BrokeredCallError";

  constructor(
    message: string,
    readonly details: {
      /** The callable's error code without the `functions/` prefix. */
      code: string;
      /**
       * Why a `resource-exhausted` call was refused, or that an `unavailable` one was OpenAI
       * not answering the backend in time.
       */
      reason?: CallLimitReason | typeof UPSTREAM_TIMEOUT_REASON | "api-not-served";
      /** Whole seconds until a retry can succeed, for minute budgets and rate limits. */
      retryAfterSeconds?: number;
      /** The rejected request field, for `invalid-argument`. */
      field?: string;
      /** What the backend serves instead, for `mode-not-served`. */
      served?: RealtimeMode[];
      /** The voice APIs the caller may use instead, for `api-not-served`. */
      servedApis?: VoiceApi[];
      /** The caller's minutes, when the broker said. */
      minutes?: VoiceMinutes;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An {@link SdpExchange} backed by the `realtimeCall` callable. `exchangeOffer` sends
 * `{ offer, ...choices }` and resolves with the answer and the call id; `onOpened` receives
 * the rest of the result. A refusal rejects with a {@link RealtimeConnectError} (`stage`
 * `sdp`, `failure` from the error's code and details, see {@link toBrokeredConnectError}).
 *
 * The callable cannot be cancelled: when `signal` aborts first, `exchangeOffer` rejects with
 * the signal's reason at once, and a call that opens afterwards is ended with `end` (best
 * effort) so the user is not charged for a call nobody holds.
 */
export function brokeredExchange(options: BrokeredExchangeOptions): SdpExchange {
  const { call, end, choices = {}, onOpened } = options;
  const endQuietly = (callId: string): void => {
    // Best effort: the server also hangs up at the call's deadline.
    void end({ callId }).catch(() => undefined);
  };
  return {
    answeredBy: "backend",
    exchangeOffer: async (offer, signal) => {
      signal.throwIfAborted();
      let pending: Promise<RealtimeCallResponse>;
      try {
        pending = call({ ...choices, offer }, signal);
      } catch (error) {
        pending = Promise.reject(error);
      }
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        void pending.finally(() => signal.removeEventListener("abort", onAbort)).catch(() => {});
      });
      let result: RealtimeCallResponse;
      try {
        result = await Promise.race([pending, aborted]);
      } catch (error) {
        if (signal.aborted) {
          void pending.then((late) => endQuietly(late.callId)).catch(() => undefined);
          throw signal.reason ?? error;
        }
        throw toBrokeredConnectError(error);
      }
      if (signal.aborted) {
        endQuietly(result.callId);
        throw signal.reason;
      }
      const checked = checkResponse(RealtimeCallResponseSchema, result);
      if (!checked.ok) {
        const callId: unknown = (result as { callId?: unknown } | null)?.callId;
        if (typeof callId === "string" && callId !== "") endQuietly(callId);
        throw new RealtimeConnectError(
          "sdp",
          "invalid-answer",
          `The voice service answered the call with an unexpected result (${checked.problem}).`,
        );
      }
      const { answer, ...opened } = checked.value;
      if (choices.api !== undefined && opened.api !== choices.api) {
        endQuietly(opened.callId);
        throw new RealtimeConnectError(
          "sdp",
          "invalid-answer",
          `The voice service opened a ${opened.api} call where ${choices.api} was asked for.`,
        );
      }
      try {
        onOpened?.(opened);
      } catch (error) {
        endQuietly(opened.callId);
        throw error;
      }
      return { answer, callId: opened.callId };
    },
  };
}

/**
 * Maps an error of the `realtimeCall` callable to a {@link RealtimeConnectError} with stage
 * `sdp`, by the error's `code` and `details` (never its message text). The `cause` is a
 * {@link BrokeredCallError} whose own `cause` is the original error. Messages are written
 * here and never echo the request, so no SDP reaches them.
 */
export function toBrokeredConnectError(error: unknown): RealtimeConnectError {
  if (error instanceof RealtimeConnectError) return error;
  const failure = readCallableError(error);
  const { code } = failure;
  const fail = (
    failure: ConnectFailure,
    message: string,
    extra: Omit<BrokeredCallError["details"], "code"> = {},
    waited?: ConnectWait,
  ) =>
    new RealtimeConnectError("sdp", failure, message, {
      cause: new BrokeredCallError(message, { code, ...extra }, { cause: error }),
      ...(waited === undefined ? {} : { waited }),
      // Only a rate limit's wait is one a retry should honour; a spent budget is not retried.
      ...(failure === "rate-limited" && extra.retryAfterSeconds !== undefined
        ? { retryAfterMs: extra.retryAfterSeconds * 1000 }
        : {}),
    });

  switch (code) {
    case "resource-exhausted": {
      const { retryAfterSeconds, minutes } = failure;
      const wait = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
      const known = minutes === undefined ? {} : { minutes };
      // The page adds when spent minutes come back (from `minutes`) and who shares a
      // network's allowance, so these say only what happened.
      if (isMinuteLimitReason(failure.reason)) {
        const { period } = MINUTE_BUDGETS[failure.reason];
        return fail("out-of-minutes", `You have used ${period} voice minutes.`, {
          reason: failure.reason,
          ...wait,
          ...known,
        });
      }
      const later = retryAfterSeconds === undefined ? "" : `; try again in ${retryAfterSeconds} s`;
      if (failure.reason === "ip-rate") {
        return fail("rate-limited", `Too many calls from your network right now${later}.`, {
          reason: "ip-rate",
          ...wait,
          ...known,
        });
      }
      const refusal = refusalOf(failure, CALL_LIMIT_REASONS);
      return fail(
        "rate-limited",
        refusal?.reason === "upstream-rate"
          ? refusalMessage(refusal)
          : `The voice service is rate limited right now${later}.`,
        { ...(failure.reason === "upstream-rate" ? { reason: "upstream-rate" } : {}), ...wait },
      );
    }
    case "invalid-argument": {
      const { field } = failure;
      if (field === "offer") {
        return fail("invalid-offer", "The voice service refused this browser's offer.", {
          field,
        });
      }
      // Sent again as it is, it is refused again: a failure reconnecting gives up on.
      return fail(
        "invalid-request",
        `The voice service rejected ${field && field !== "(request)" ? `the "${field}" setting` : "the request"}.`,
        field ? { field } : {},
      );
    }
    case "failed-precondition":
      if (failure.reason === "api-not-served") {
        return fail("not-served", "This backend does not serve calls on this voice API.", {
          reason: "api-not-served",
          servedApis: failure.servedApis ?? [],
        });
      }
      if (failure.reason === "mode-not-served") {
        return fail("not-served", "This backend does not serve brokered calls.", {
          served: failure.served ?? [],
        });
      }
      return fail("misconfigured", "The voice service is misconfigured.");
    case "not-found":
      return fail("misconfigured", "The realtimeCall function was not found.");
    case "unauthenticated":
    case "permission-denied":
      return fail(
        "unauthenticated",
        "The voice service couldn't verify your sign-in or this app (App Check).",
      );
    case "unavailable":
      // The backend gave up waiting for OpenAI: OpenAI was the slow one, not the backend.
      if (failure.reason === UPSTREAM_TIMEOUT_REASON) {
        return fail(
          "timeout",
          "OpenAI did not answer the voice server in time.",
          { reason: UPSTREAM_TIMEOUT_REASON },
          "upstream-answer",
        );
      }
      return fail("unavailable", "The voice service is unavailable right now.");
    case "deadline-exceeded":
      // The SDK's own deadline for the callable passed: the backend was the slow one.
      return fail(
        "timeout",
        "The voice server (this app's function) did not answer in time.",
        {},
        "backend-answer",
      );
    case "internal":
      // The SDK reports a request that got no HTTP answer at all as `internal` with status 0
      // appended ("internal [0]"); a deliberate server error carries its own message.
      if (failure.unreachable) {
        return fail("unreachable", "Couldn't reach the voice service.");
      }
      return fail("misconfigured", "The voice service is misconfigured.");
    default:
      return fail("rejected", "The voice service could not open the call.");
  }
}
