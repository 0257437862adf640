/**
 * {@link BrokeredUpstream} on OpenAI's GPT-Live API: `POST /v1/live/sessions` through the
 * `openai` SDK (`client.live.create`) opens a session with the browser's offer; the server
 * ends one over its sideband (`wss://…/v1/live/sessions/{id}/attach`, the same key): it sends
 * `session.close` and waits for `session.closed`, whose `usage.seconds` is what OpenAI bills.
 * (Live's REST hang-up is for SIP calls only.)
 *
 * The sideband is a `ws` socket of its own rather than the SDK's `SidebandWS`: the SDK's
 * client reconnects by itself and does not surface the upgrade's HTTP status, while this needs
 * one attempt within a deadline (the callers own retries) and a 404 told apart from a refused
 * key. Nothing here logs, and no error message carries the key or SDP.
 */
import type { LiveCreateResponse, MediaSessionConfig } from "openai/resources/live/live";
import type * as WsModule from "ws";
import { openAiClient, UpstreamError } from "./openai";
import {
  type BrokeredUpstream,
  CALL_ID,
  checkAnswer,
  classify,
  type MeasuredHangup,
  msLeft,
  type OpenAiUpstreamOptions,
  timedOut,
} from "./upstream";

/** Callbacks of one sideband connection. */
export interface SidebandHandlers {
  /** The socket is open: commands can be sent. */
  onOpen(): void;
  /** One text frame. */
  onMessage(text: string): void;
  /** The upgrade was answered with this HTTP status instead of 101. */
  onRefused(status: number): void;
  /** The connection failed or closed (after {@link onRefused}, or without it). */
  onGone(reason: string): void;
}

/** An attached sideband, as the close protocol uses it. `close()` is idempotent. */
export interface SidebandSocket {
  send(text: string): void;
  close(): void;
}

/** Opens a sideband to `url` with the key as Bearer; tests pass a fake. */
export type ConnectSideband = (
  url: string,
  apiKey: string,
  handlers: SidebandHandlers,
) => SidebandSocket;

export interface OpenAiLiveUpstreamOptions extends OpenAiUpstreamOptions {
  /** Injected for tests; default a `ws` socket ({@link connectWsSideband}). */
  connectSideband?: ConnectSideband;
}

/** {@link BrokeredUpstream} on GPT-Live through the `openai` SDK and a `ws` sideband. */
export function createOpenAiLiveUpstream(
  options: OpenAiLiveUpstreamOptions,
): BrokeredUpstream<MediaSessionConfig> {
  const now = options.now ?? Date.now;
  const connect = options.connectSideband ?? connectWsSideband;
  const client = openAiClient(options);
  const remaining = (deadline: number, what: string) => msLeft(deadline, now(), what);

  const hangupMeasured = async (
    sessionId: string,
    { deadline }: { deadline: number },
  ): Promise<MeasuredHangup> => {
    const ms = remaining(deadline, "The Live sideband close");
    return closeLiveSession(connect, sidebandUrl(client.baseURL, sessionId), options.apiKey, ms);
  };

  return {
    name: "openai-live",

    async createCall({ sdp, session, deadline }) {
      const what = "The Live session request to OpenAI";
      const ms = remaining(deadline, what);
      // The SDK's own timeout stops at the response headers; this signal also covers the body.
      const signal = AbortSignal.timeout(ms);
      let result;
      try {
        result = await client.live
          .create({ session, transport: { type: "webrtc", sdp } }, { timeout: ms, signal })
          .withResponse();
      } catch (error) {
        // The SDK parses a JSON answer itself, and throws this for one that is not JSON.
        if (error instanceof SyntaxError)
          throw new UpstreamError(
            "malformed",
            `${what} was answered with a body that is not JSON.`,
          );
        throw classify(error, what, signal);
      }
      const { data, response, request_id: requestId } = result;
      const problem = checkLiveAnswer(data);
      if (problem !== null)
        throw new UpstreamError("malformed", `OpenAI answered the Live session with ${problem}.`, {
          status: response.status,
          requestId,
        });
      const created = data as LiveCreateResponse;
      return { answer: created.transport.sdp, callId: created.session.id, requestId };
    },

    async hangup(sessionId, options) {
      return (await hangupMeasured(sessionId, options)).outcome;
    },

    hangupMeasured,
  };
}

/** What is wrong with a 2xx `POST /v1/live/sessions` body, or null when it is usable. */
export function checkLiveAnswer(data: unknown): string | null {
  if (typeof data !== "object" || data === null || Array.isArray(data))
    return "a body that is not a Live session";
  const { session, transport } = data as Record<string, unknown>;
  const id =
    typeof session === "object" && session !== null
      ? (session as Record<string, unknown>).id
      : undefined;
  if (typeof id !== "string" || !CALL_ID.test(id)) return "no usable session id";
  const sdp =
    typeof transport === "object" && transport !== null
      ? (transport as Record<string, unknown>).sdp
      : undefined;
  const problem = checkAnswer(sdp, "application/json");
  return problem === null ? null : `${problem} in transport.sdp`;
}

/** The sideband's URL for `sessionId` under the SDK's base URL (`https:` → `wss:`). */
export function sidebandUrl(baseURL: string, sessionId: string): string {
  const url = new URL(
    `${baseURL.replace(/\/+$/, "")}/live/sessions/${encodeURIComponent(sessionId)}/attach`,
  );
  url.protocol = url.protocol === "http:" || url.protocol === "ws:" ? "ws:" : "wss:";
  return url.toString();
}

const WHAT = "The Live sideband close";

/**
 * Ends a Live session over a sideband within `timeoutMs`: attach, send `session.close`, wait
 * for `session.closed`. `ended` carries its `usage.seconds` (null when absent or not a
 * number); a 404 at the upgrade is `not-found` (no such session here, or it is over). Anything
 * else, a socket gone before `session.closed` included, throws an {@link UpstreamError}.
 */
export function closeLiveSession(
  connect: ConnectSideband,
  url: string,
  apiKey: string,
  timeoutMs: number,
): Promise<MeasuredHangup> {
  return new Promise<MeasuredHangup>((resolve, reject) => {
    let settled = false;
    let refusedWith: number | null = null;
    const finish = (outcome: { ok: MeasuredHangup } | { error: UpstreamError }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      held.socket?.close();
      if ("ok" in outcome) resolve(outcome.ok);
      else reject(outcome.error);
    };
    const timer = setTimeout(() => finish({ error: timedOut(WHAT) }), timeoutMs);
    // A connector may call back before it returns; the socket is known from then on.
    const held: { socket?: SidebandSocket } = {};
    const socket = connect(url, apiKey, {
      onOpen: () => held.socket?.send(JSON.stringify({ type: "session.close" })),
      onMessage: (text) => {
        const event = parseEvent(text);
        if (event?.type === "session.closed")
          finish({ ok: { outcome: "ended", usageSeconds: usageOf(event) } });
        else if (event?.type === "error")
          finish({
            error: new UpstreamError("unavailable", `${WHAT} was answered with an error.`, {
              code: errorCode(event),
            }),
          });
      },
      onRefused: (status) => {
        refusedWith = status;
        if (status === 404) finish({ ok: { outcome: "not-found", usageSeconds: null } });
        else finish({ error: refusal(status) });
      },
      onGone: (reason) =>
        finish({
          error:
            refusedWith !== null
              ? refusal(refusedWith)
              : new UpstreamError("unavailable", `${WHAT} failed: ${reason}.`),
        }),
    });
    held.socket = socket;
    // A connector that failed synchronously has called finish already.
    if (settled) socket.close();
  });
}

function refusal(status: number): UpstreamError {
  const message = `${WHAT} was refused: HTTP ${status} at the upgrade.`;
  if (status === 401 || status === 403) return new UpstreamError("auth", message, { status });
  if (status === 429) return new UpstreamError("rate", message, { status });
  return new UpstreamError(status >= 400 && status < 500 ? "rejected" : "unavailable", message, {
    status,
  });
}

function parseEvent(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function usageOf(event: Record<string, unknown>): number | null {
  const usage = event.usage;
  const seconds =
    typeof usage === "object" && usage !== null
      ? (usage as Record<string, unknown>).seconds
      : undefined;
  return typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

function errorCode(event: Record<string, unknown>): string | null {
  const error = event.error;
  const code =
    typeof error === "object" && error !== null
      ? (error as Record<string, unknown>).code
      : undefined;
  return typeof code === "string" ? code.slice(0, 80) : null;
}

/** Bytes of one sideband frame accepted; its events are small (a session snapshot at most). */
const MAX_FRAME_BYTES = 1024 * 1024;

/** {@link ConnectSideband} over the `ws` package, loaded on first use. */
export const connectWsSideband: ConnectSideband = (url, apiKey, handlers) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { WebSocket } = require("ws") as typeof WsModule;
  const ws = new WebSocket(url, {
    headers: { Authorization: `Bearer ${apiKey}` },
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
  });
  ws.on("open", () => handlers.onOpen());
  ws.on("message", (data, isBinary) => {
    if (!isBinary) handlers.onMessage(Buffer.from(data as Buffer).toString("utf8"));
  });
  ws.on("unexpected-response", (request, response) => {
    handlers.onRefused(response.statusCode ?? 0);
    request.destroy();
  });
  // The error's text names only the URL's host and the failure, never the headers.
  ws.on("error", (error) => handlers.onGone(error.message));
  ws.on("close", (code) => handlers.onGone(`the socket closed (${code})`));
  return {
    send: (text) => {
      if (ws.readyState === ws.OPEN) ws.send(text);
    },
    close: () => {
      if (ws.readyState === ws.CONNECTING || ws.readyState === ws.OPEN) ws.terminate();
    },
  };
};
