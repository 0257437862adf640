/*
 * The typed error of a failed mint, apart from the code that reads a callable's error into it
 * (errors.ts): the page's messages tell errors apart by it from the start, while the reading
 * (and the schema it checks refusal details with) loads with the mode's code.
 */
import { refusalMessage, type LimitReason } from "voice-contract";

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
    const message = reason ? refusalMessage({ reason, retryAfterSeconds: seconds }) : this.message;
    return new TokenError(
      this.kind,
      message,
      { ...this.details, retryAfterSeconds: seconds },
      { cause: this.cause },
    );
  }
}
