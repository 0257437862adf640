import { LIMIT_REASONS, type LimitReason } from "voice-contract";

/** What went wrong getting a client secret, in terms of what the user can do about it. */
export type TokenErrorKind =
  | "rate-limited"
  | "daily-quota"
  | "not-signed-in"
  | "app-check"
  | "unavailable"
  | "misconfigured"
  | "invalid-request"
  | "unreachable"
  | "timeout"
  | "unknown";

/**
 * A failed `realtimeToken` call. `message` is written for the user and says what to do;
 * the original `FunctionsError` is the `cause`.
 */
export class TokenError extends Error {
  override readonly name = "TokenError";

  constructor(
    readonly kind: TokenErrorKind,
    message: string,
    readonly details: {
      /** The callable's error code without the `functions/` prefix. */
      code: string;
      /** Seconds until a retry can succeed, for rate limits and quotas. */
      retryAfterSeconds?: number;
      /** Why a `resource-exhausted` error was raised. */
      reason?: LimitReason;
      /** The rejected request field, for `invalid-argument`. */
      field?: string;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The same error with the wait shortened to what is left of it. */
  withRetryAfter(seconds: number): TokenError {
    const { reason } = this.details;
    const message = reason ? limitMessage(reason, seconds) : this.message;
    return new TokenError(
      this.kind,
      message,
      { ...this.details, retryAfterSeconds: seconds },
      { cause: this.cause },
    );
  }
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
  const record =
    typeof error === "object" && error !== null ? (error as Record<string, unknown>) : {};
  const rawCode = typeof record.code === "string" ? record.code : "unknown";
  const code = rawCode.replace(/^functions\//, "");
  const serverMessage = typeof record.message === "string" ? record.message : "";
  const details =
    typeof record.details === "object" && record.details !== null
      ? (record.details as Record<string, unknown>)
      : {};
  const options = { cause: error };

  switch (code) {
    case "resource-exhausted": {
      const seconds = positiveInt(details.retryAfterSeconds);
      const reason =
        typeof details.reason === "string" &&
        (LIMIT_REASONS as readonly string[]).includes(details.reason)
          ? (details.reason as LimitReason)
          : undefined;
      if (!reason || seconds === undefined) {
        return new TokenError(
          "rate-limited",
          "Too many requests right now. Try again in a minute.",
          { code },
          options,
        );
      }
      return new TokenError(
        reason === "daily-quota" ? "daily-quota" : "rate-limited",
        limitMessage(reason, seconds),
        { code, reason, retryAfterSeconds: seconds },
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
      return new TokenError(
        "unavailable",
        "The voice service is unavailable right now. Try again in a minute.",
        { code },
        options,
      );
    case "deadline-exceeded":
      // The SDK's own timeout (the callable's `timeout` option), or the server's.
      return new TokenError(
        "timeout",
        "The voice service did not answer in time. Check your connection and try again.",
        { code },
        options,
      );
    case "invalid-argument": {
      const field = typeof details.field === "string" ? details.field : undefined;
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
      if (/^(internal)?\s*\[0\]$/.test(serverMessage.trim()) || serverMessage === "") {
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

function limitMessage(reason: LimitReason, seconds: number): string {
  switch (reason) {
    case "user-interval":
      return `You're starting sessions too quickly. Try again in ${seconds} s.`;
    case "ip-rate":
      return `Too many requests from your network. Try again in ${seconds} s.`;
    case "upstream-rate":
      return `OpenAI is rate limiting this app right now. Try again in ${seconds} s.`;
    case "daily-quota":
      return `You've used today's voice sessions. Your quota resets in ${formatWait(seconds)}.`;
  }
}

/** `45 s`, `12 min`, `3 h 5 min`. */
export function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

function positiveInt(value: unknown): number | undefined {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) return undefined;
  return Math.ceil(value);
}
