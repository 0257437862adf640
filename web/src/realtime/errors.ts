/** Where `connect()` failed: the step that was running. */
export type ConnectStage = "microphone" | "token" | "offer" | "sdp" | "channel" | "aborted";

/**
 * What a step that ran out of time was waiting for: who was slow, which a `timeout`'s
 * message names and its advice follows. One stage can wait on different parties: the `sdp`
 * stage waits on OpenAI when the browser posts the offer itself, on the app's backend when the
 * backend posts it (a brokered call), and the `channel` stage on the network path first.
 *
 * - `microphone`: the microphone to open (a permission prompt included);
 * - `token`: the session key from the app's backend;
 * - `offer`: the browser building its SDP offer;
 * - `openai-answer`: OpenAI's answer to the offer the browser posted;
 * - `backend-answer`: the app's backend (the function that posts the offer to OpenAI);
 * - `upstream-answer`: OpenAI's answer to the backend, which the backend reported as late;
 * - `ice`: the media path to OpenAI (ICE and DTLS), after the answer;
 * - `channel`: the event channel opening, once the media path was up.
 */
export type ConnectWait =
  | "microphone"
  | "token"
  | "offer"
  | "openai-answer"
  | "backend-answer"
  | "upstream-answer"
  | "ice"
  | "channel";

/**
 * What went wrong, in terms of what the user can do about it. UI code picks its advice from
 * this, never from the message text.
 *
 * - `denied`: the microphone permission was refused;
 * - `not-found`: there is no microphone (or none matches the constraints);
 * - `in-use`: the microphone exists but could not be started (another app holds it);
 * - `microphone`: any other microphone failure;
 * - `token`: the app's secret provider failed; `cause` holds its error;
 * - `unsupported`: the browser could not build a WebRTC offer;
 * - `timeout`: a step did not finish within its deadline (`waited` says who was slow);
 * - `unreachable`: the calls endpoint could not be reached (network, DNS, CORS);
 * - `rejected`: the calls endpoint refused the offer (`cause` is a {@link RealtimeCallError},
 *   or the brokered exchange's `BrokeredCallError`);
 * - `invalid-answer`: it answered something that is not a usable SDP answer;
 * - `connection`: ICE, DTLS or the event channel failed after the answer;
 * - `aborted`: the session was disposed while connecting.
 *
 * Only a brokered exchange (the backend posts the offer) reports these; its `cause` is a
 * `BrokeredCallError` with the details (wait, reason, field):
 * - `out-of-minutes`: the user's daily or monthly voice minutes are spent;
 * - `rate-limited`: the service (or OpenAI behind it) is rate limiting; retry later;
 * - `invalid-offer`: the backend refused the browser's SDP offer;
 * - `invalid-request`: the backend refused a setting of the request (`details.field` names it);
 *   sent again unchanged it is refused again;
 * - `not-served`: the backend does not serve this way of connecting;
 * - `unauthenticated`: the backend could not verify the sign-in or App Check;
 * - `unavailable`: the backend or OpenAI behind it is down for now;
 * - `misconfigured`: the backend is misconfigured (its logs say what to fix).
 */
export type ConnectFailure =
  | "denied"
  | "not-found"
  | "in-use"
  | "microphone"
  | "token"
  | "unsupported"
  | "timeout"
  | "unreachable"
  | "rejected"
  | "invalid-answer"
  | "connection"
  | "aborted"
  | "out-of-minutes"
  | "rate-limited"
  | "invalid-offer"
  | "invalid-request"
  | "not-served"
  | "unauthenticated"
  | "unavailable"
  | "misconfigured";

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

/**
 * `connect()` failed. `stage` is the step that was running, `failure` what went wrong (see
 * {@link ConnectFailure}); `cause` holds the underlying error. The message is a sentence
 * that names the step and ends with a full stop, so advice can follow it.
 */
export class RealtimeConnectError extends Error {
  override readonly name = "RealtimeConnectError";
  /**
   * How long the backend said to wait before trying again (a `rate-limited` refusal that
   * named a wait), or null.
   */
  readonly retryAfterMs: number | null;
  /**
   * For a `timeout`, what the step was waiting for (see {@link ConnectWait}); null for any
   * other failure. A timeout built without one waits on its stage's usual party
   * ({@link stageWait}).
   */
  readonly waited: ConnectWait | null;

  constructor(
    readonly stage: ConnectStage,
    readonly failure: ConnectFailure,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number; waited?: ConnectWait },
  ) {
    super(withFullStop(message), options);
    this.retryAfterMs = options?.retryAfterMs ?? null;
    this.waited =
      failure !== "timeout" || stage === "aborted" ? null : (options?.waited ?? stageWait(stage));
  }
}

/**
 * What a stage waits on when nothing more is known: OpenAI's answer to the browser's own post
 * for `sdp`, the media path for `channel`.
 */
export function stageWait(stage: Exclude<ConnectStage, "aborted">): ConnectWait {
  switch (stage) {
    case "microphone":
    case "token":
    case "offer":
      return stage;
    case "sdp":
      return "openai-answer";
    case "channel":
      return "ice";
  }
}

/**
 * Whether OpenAI refused the secret itself (401/403: expired, revoked, or for another
 * project): the next attempt needs a fresh one rather than the cached one.
 */
export function isSecretRejected(error: unknown): boolean {
  return (
    error instanceof RealtimeConnectError &&
    error.failure === "rejected" &&
    error.cause instanceof RealtimeCallError &&
    (error.cause.status === 401 || error.cause.status === 403)
  );
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

/** `text` ending in `.`, `!` or `?` (a browser's "Failed to fetch" does not). */
export function withFullStop(text: string): string {
  const trimmed = text.trimEnd();
  return /[.!?]$/.test(trimmed) || trimmed === "" ? trimmed : `${trimmed}.`;
}
