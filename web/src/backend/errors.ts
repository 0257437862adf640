import {
  checkResponse,
  isRecord,
  LIMIT_REASONS,
  REALTIME_MODES,
  VOICE_APIS,
  refusalMessage,
  UPSTREAM_TIMEOUT_REASON,
  VoiceMinutesSchema,
  type RealtimeMode,
  type Refusal,
  type RefusalReason,
  type VoiceApi,
  type VoiceMinutes,
} from "voice-contract";
import { TokenError } from "./tokenError";

/**
 * What an error of any of our callables says, read by `code` and `details` (the message
 * only to tell the SDK's "no HTTP answer at all" from a deliberate `internal`). Details that
 * are missing or malformed are left out.
 */
export interface CallableFailure {
  /** The callable's error code without the `functions/` prefix; `unknown` for other errors. */
  code: string;
  /** The error's message, trimmed; "" when it has none. */
  serverMessage: string;
  /**
   * An `internal` error that got no HTTP answer (refused, offline, blocked, or a crash
   * without CORS headers): the SDK appends the status 0, "internal [0]".
   */
  unreachable: boolean;
  /** `details.reason`, as sent. */
  reason?: string;
  /** Whole seconds until a retry can succeed (rounded up; positive). */
  retryAfterSeconds?: number;
  /** The rejected request field, for `invalid-argument`. */
  field?: string;
  /** What the backend serves instead, for `mode-not-served`. */
  served?: RealtimeMode[];
  /** The voice APIs the caller may use instead, for `api-not-served`. */
  servedApis?: VoiceApi[];
  /** The caller's minutes, when a brokered refusal reported them. */
  minutes?: VoiceMinutes;
}

/** Reads a callable's error (a `FunctionsError`, or anything thrown) into a {@link CallableFailure}. */
export function readCallableError(error: unknown): CallableFailure {
  const record = isRecord(error) ? error : {};
  const code = (typeof record.code === "string" ? record.code : "unknown").replace(
    /^functions\//,
    "",
  );
  const serverMessage = typeof record.message === "string" ? record.message.trim() : "";
  const details = isRecord(record.details) ? record.details : {};
  const failure: CallableFailure = {
    code,
    serverMessage,
    unreachable:
      code === "internal" && (serverMessage === "" || /^(internal)?\s*\[0\]$/.test(serverMessage)),
  };
  if (typeof details.reason === "string") failure.reason = details.reason;
  const seconds = details.retryAfterSeconds;
  if (typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0) {
    failure.retryAfterSeconds = Math.ceil(seconds);
  }
  if (typeof details.field === "string") failure.field = details.field;
  if (Array.isArray(details.served) && details.reason === "api-not-served") {
    failure.servedApis = details.served.filter((api): api is VoiceApi =>
      (VOICE_APIS as readonly unknown[]).includes(api),
    );
  } else if (Array.isArray(details.served)) {
    failure.served = details.served.filter((mode): mode is RealtimeMode =>
      (REALTIME_MODES as readonly unknown[]).includes(mode),
    );
  }
  const minutes = checkResponse(VoiceMinutesSchema, details.minutes);
  if (minutes.ok) failure.minutes = minutes.value;
  return failure;
}

/**
 * The refusal a `resource-exhausted` failure names, when it names one of `reasons` (those of
 * the callable that refused) and a wait.
 */
export function refusalOf<R extends RefusalReason>(
  failure: CallableFailure,
  reasons: readonly R[],
): (Refusal & { reason: R }) | undefined {
  const reason = reasons.find((known) => known === failure.reason);
  const retryAfterSeconds = failure.retryAfterSeconds;
  return reason === undefined || retryAfterSeconds === undefined
    ? undefined
    : { reason, retryAfterSeconds };
}

/**
 * Maps any error from the `realtimeToken` callable to a {@link TokenError}.
 *
 * `signedIn` disambiguates `unauthenticated`: the Functions SDK rejects a call without a
 * valid App Check token with the same code and a bare "Unauthenticated" message, so when
 * the client knows a user is signed in, the fault is App Check (or an expired sign-in).
 */
export function toTokenError(error: unknown, context: { signedIn?: boolean } = {}): TokenError {
  if (error instanceof TokenError) return error;
  const failure = readCallableError(error);
  const { code, serverMessage } = failure;
  const options = { cause: error };

  switch (code) {
    case "resource-exhausted": {
      const refusal = refusalOf(failure, LIMIT_REASONS);
      if (!refusal) {
        return new TokenError(
          "rate-limited",
          "Too many requests right now. Try again in a minute.",
          { code },
          options,
        );
      }
      const { reason } = refusal;
      return new TokenError(
        reason === "daily-quota" ? "daily-quota" : "rate-limited",
        refusalMessage(refusal),
        { code, reason, retryAfterSeconds: refusal.retryAfterSeconds },
        options,
      );
    }
    case "unauthenticated":
      if (/app ?check/i.test(serverMessage)) {
        return new TokenError("app-check", APP_CHECK_MESSAGE, { code }, options);
      }
      if (context.signedIn === true) {
        return new TokenError(
          "app-check",
          "The server couldn't verify this app (App Check) or your sign-in. Reload the page and try again.",
          { code },
          options,
        );
      }
      return new TokenError(
        "not-signed-in",
        "You're not signed in. Sign in (or reload the page to continue as a guest) and try again.",
        { code },
        options,
      );
    case "permission-denied":
      return new TokenError("app-check", APP_CHECK_MESSAGE, { code }, options);
    case "unavailable":
      // The function gave up waiting for OpenAI: name OpenAI as the slow one, not the function.
      if (failure.reason === UPSTREAM_TIMEOUT_REASON) {
        return new TokenError(
          "timeout",
          "OpenAI did not answer the voice server in time. Try again in a moment.",
          { code },
          options,
        );
      }
      return new TokenError(
        "unavailable",
        "The voice service is unavailable right now. Try again in a minute.",
        { code },
        options,
      );
    case "deadline-exceeded":
      // The SDK's own timeout (the callable's `timeout` option): the function was the slow one.
      return new TokenError(
        "timeout",
        "The voice server (this app's function) did not answer in time; it may be busy or starting up. Try again in a moment.",
        { code },
        options,
      );
    case "invalid-argument": {
      const { field } = failure;
      const what = field && field !== "(request)" ? `the "${field}" setting` : "the request";
      return new TokenError(
        "invalid-request",
        `The server rejected ${what}. Pick another option and try again.`,
        { code, ...(field ? { field } : {}) },
        options,
      );
    }
    case "internal":
      // The SDK reports a request that got no HTTP answer at all (refused, offline, blocked,
      // or a crash without CORS headers) as `internal` with HTTP status 0 appended:
      // "internal [0]". A deliberate server error carries its own message and status.
      if (failure.unreachable) {
        return new TokenError(
          "unreachable",
          "Couldn't reach the voice service. Check your connection and try again.",
          { code },
          options,
        );
      }
      return new TokenError("misconfigured", MISCONFIGURED_MESSAGE, { code }, options);
    case "failed-precondition":
      return new TokenError("misconfigured", MISCONFIGURED_MESSAGE, { code }, options);
    case "not-found":
      return new TokenError(
        "misconfigured",
        "The realtimeToken function was not found. If you run this app, deploy it and check VITE_FUNCTIONS_REGION.",
        { code },
        options,
      );
    default:
      return new TokenError(
        "unknown",
        `Couldn't start a voice session${serverMessage ? `: ${serverMessage}` : "."} Try again.`,
        { code },
        options,
      );
  }
}

const APP_CHECK_MESSAGE =
  "This app couldn't be verified (App Check). Reload the page and try again; if it keeps happening, allow reCAPTCHA in your browser.";

const MISCONFIGURED_MESSAGE =
  "The voice service is misconfigured. If you run this app, the realtimeToken function logs name the setting to fix.";
