import type { ConnectStage } from "./types";

/**
 * A non-2xx answer from `POST /v1/realtime/calls`. `message` is OpenAI's own message when
 * the body carried one, so it can be shown or logged as is.
 */
export class RealtimeCallError extends Error {
  override readonly name = "RealtimeCallError";

  constructor(
    /** The HTTP status. */
    readonly status: number,
    message: string,
    /** OpenAI's `error.code`, e.g. `invalid_api_key`; null when the body had none. */
    readonly code: string | null = null,
    /** OpenAI's `error.type`, e.g. `invalid_request_error`. */
    readonly type: string | null = null,
  ) {
    super(message);
  }

  /** Builds the error from a failed response's status and body text. */
  static fromResponse(status: number, statusText: string, body: string): RealtimeCallError {
    const parsed = parseOpenAIErrorBody(body);
    if (parsed) {
      return new RealtimeCallError(
        status,
        `OpenAI rejected the call (HTTP ${status}): ${parsed.message}`,
        parsed.code,
        parsed.type,
      );
    }
    const snippet = body.trim().slice(0, 200);
    const detail = snippet || statusText || "no response body";
    return new RealtimeCallError(status, `OpenAI rejected the call (HTTP ${status}): ${detail}`);
  }
}

/** `connect()` failed; `stage` says where, `cause` holds the underlying error. */
export class RealtimeConnectError extends Error {
  override readonly name = "RealtimeConnectError";

  constructor(
    readonly stage: ConnectStage,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface OpenAIErrorBody {
  message: string;
  code: string | null;
  type: string | null;
}

/** Reads `{ "error": { "message", "code", "type" } }`; null for anything else. */
export function parseOpenAIErrorBody(body: string): OpenAIErrorBody | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  if (!isRecord(json) || !isRecord(json.error)) return null;
  const { message, code, type } = json.error;
  if (typeof message !== "string" || message === "") return null;
  return {
    message,
    code: typeof code === "string" ? code : null,
    type: typeof type === "string" ? type : null,
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A message for any thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
