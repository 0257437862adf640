/**
 * The OpenAI adapter: the one place the official SDK is loaded and its client made
 * ({@link openAiClient}, which the brokered upstreams use too); mints a Realtime client secret
 * and turns every failure into an {@link UpstreamError} the handler can map. Nothing here logs.
 *
 * The SDK is loaded on the first mint, not with this module: a cold instance then spends its
 * start-up on what the request needs first (auth, settings, the reservation).
 */
import type * as OpenAiSdk from "openai";
import type { RealtimeSessionCreateRequest } from "openai/resources/realtime/realtime";
import { redactCredentials } from "./redact";

export { redactCredentials };

type Sdk = typeof OpenAiSdk;
let sdk: Sdk | undefined;
/**
 * The `openai` SDK, loaded once on first use. Every adapter takes its classes from here, so
 * `instanceof` checks see one copy of the SDK (an ESM `import` beside this `require` would load
 * a second one under some loaders).
 */
export function loadSdk(): Sdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (sdk ??= require("openai") as Sdk);
}

/** Where and how an adapter reaches OpenAI. */
export interface OpenAiClientOptions {
  /** The standard key (`sk-…`), read from the secret inside the handler. */
  apiKey: string;
  /** OpenAI's base URL including `/v1`. Default: the SDK's, which honours `OPENAI_BASE_URL`. */
  baseURL?: string | undefined;
  /** Injected for tests. */
  fetch?: typeof fetch | undefined;
  /** The SDK's per-request timeout (ms), up to the response headers. */
  timeout?: number | undefined;
}

/**
 * An `openai` client that neither retries nor logs by itself: each caller owns its retries (a
 * retried call creation could open a second call that nobody hangs up; a retried mint hides
 * the `retryAfterSeconds` the caller shows) and its logs (which must never carry the key).
 */
export function openAiClient(options: OpenAiClientOptions): InstanceType<Sdk["default"]> {
  const { default: OpenAI } = loadSdk();
  return new OpenAI({
    apiKey: options.apiKey,
    ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    maxRetries: 0,
    logLevel: "off",
  });
}

export interface MintRequest {
  apiKey: string;
  ttlSeconds: number;
  timeoutMs: number;
  session: RealtimeSessionCreateRequest;
}

/** A minted secret. `value` is a credential: return it to the caller and nowhere else. */
export interface MintedSecret {
  value: string;
  /** Unix seconds. */
  expiresAt: number;
  /** The model of the session OpenAI resolved. */
  model: string;
  requestId: string | null;
}

export type Minter = (request: MintRequest) => Promise<MintedSecret>;

/**
 * How a mint failed:
 * - `auth`: OpenAI refused the key (401/403): the server is misconfigured.
 * - `rejected`: OpenAI refused the request (4xx other than 401/403/429); its `code` and `param`
 *   say whether the caller's offer or choice was refused or the server's own settings.
 * - `rate`: OpenAI rate limited us (429).
 * - `unavailable`: 5xx, a network error, or the timeout.
 * - `malformed`: a 2xx whose body is not a client secret, or one that has already expired.
 */
export type UpstreamFailure = "auth" | "rejected" | "rate" | "unavailable" | "malformed";

export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(
    readonly kind: UpstreamFailure,
    message: string,
    readonly details: {
      status?: number | undefined;
      requestId?: string | null | undefined;
      code?: string | null | undefined;
      /** The request field OpenAI's error names (e.g. `session.audio.output.voice`). */
      param?: string | null | undefined;
      retryAfterSeconds?: number | undefined;
      timedOut?: boolean | undefined;
    } = {},
  ) {
    super(redactCredentials(message));
  }
}

export interface MinterOptions extends Pick<OpenAiClientOptions, "baseURL" | "fetch"> {
  /** Clock for the expiry check (ms). */
  now?: () => number;
}

/** A {@link Minter} that calls `POST /v1/realtime/client_secrets` through the `openai` SDK. */
export function createOpenAiMinter(options: MinterOptions = {}): Minter {
  const now = options.now ?? Date.now;
  return async ({ apiKey, ttlSeconds, timeoutMs, session }) => {
    const client = openAiClient({
      apiKey,
      baseURL: options.baseURL,
      fetch: options.fetch,
      timeout: timeoutMs,
    });
    let result;
    try {
      result = await client.realtime.clientSecrets
        .create({ expires_after: { anchor: "created_at", seconds: ttlSeconds }, session })
        .withResponse();
    } catch (error) {
      throw toUpstreamError(error);
    }
    const { data, request_id: requestId } = result;
    const body: unknown = data;
    if (!isClientSecret(body)) {
      throw new UpstreamError("malformed", "OpenAI answered the mint with an unexpected body.", {
        status: result.response.status,
        requestId,
      });
    }
    // A secret that cannot open a call would be charged to the user for nothing.
    if (body.expires_at * 1000 <= now()) {
      throw new UpstreamError("malformed", "OpenAI answered the mint with an expired secret.", {
        status: result.response.status,
        requestId,
      });
    }
    const model =
      "model" in body.session && typeof body.session.model === "string"
        ? body.session.model
        : (session.model ?? "unknown");
    return { value: body.value, expiresAt: body.expires_at, model, requestId };
  };
}

function isClientSecret(
  body: unknown,
): body is { value: string; expires_at: number; session: Record<string, unknown> } {
  if (typeof body !== "object" || body === null) return false;
  const { value, expires_at: expiresAt, session } = body as Record<string, unknown>;
  return (
    typeof value === "string" &&
    value.startsWith("ek_") &&
    typeof expiresAt === "number" &&
    Number.isFinite(expiresAt) &&
    typeof session === "object" &&
    session !== null
  );
}

/** Classifies anything the SDK threw. */
export function toUpstreamError(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const { APIConnectionError, APIConnectionTimeoutError, APIError } = loadSdk();
  if (error instanceof APIConnectionTimeoutError) {
    return new UpstreamError("unavailable", "The mint request to OpenAI timed out.", {
      timedOut: true,
    });
  }
  if (error instanceof APIConnectionError) {
    return new UpstreamError("unavailable", `Could not reach OpenAI: ${error.message}`);
  }
  if (error instanceof APIError) {
    const status = error.status;
    const details = { status, requestId: error.requestID, code: error.code, param: error.param };
    // The SDK's message already starts with the status.
    const message = `OpenAI answered: ${error.message}`;
    if (status === 401 || status === 403) return new UpstreamError("auth", message, details);
    if (status === 429) {
      return new UpstreamError("rate", message, {
        ...details,
        retryAfterSeconds: retryAfterSeconds(error.headers),
      });
    }
    if (status !== undefined && status >= 400 && status < 500) {
      return new UpstreamError("rejected", message, details);
    }
    return new UpstreamError("unavailable", message, details);
  }
  // The SDK throws a SyntaxError when a JSON content type carries something else.
  if (error instanceof SyntaxError) {
    return new UpstreamError("malformed", "OpenAI answered the mint with a body that is not JSON.");
  }
  return new UpstreamError(
    "unavailable",
    `The mint failed: ${error instanceof Error ? error.message : String(error)}`,
  );
}

function retryAfterSeconds(headers: Headers | undefined): number {
  const value = headers?.get("retry-after");
  const seconds = value == null ? Number.NaN : Number(value);
  return Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : 10;
}
