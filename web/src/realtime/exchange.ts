/*
 * The SDP exchange: how the browser's offer reaches OpenAI and the answer comes back. The
 * session only sees the SdpExchange seam; secretExchange() is the implementation where the
 * browser posts the offer itself with an ephemeral secret. Another one (a backend that posts
 * the offer with its own key and returns the answer) plugs into the same seam.
 */
import { RealtimeCallError, RealtimeConnectError, messageOf } from "./errors";
import type { FetchLike } from "./types";

/** OpenAI's endpoint for opening a WebRTC call with an ephemeral client secret. */
export const DEFAULT_CALLS_URL = "https://api.openai.com/v1/realtime/calls";

/** What an exchange returns for an offer. */
export interface ExchangeResult {
  /** The SDP answer, for `setRemoteDescription`. */
  answer: string;
  /** The call id (`rtc_…`); null when the endpoint named none. */
  callId: string | null;
}

/**
 * Turns the browser's SDP offer into OpenAI's answer. Injected into `RealtimeSession`, which
 * neither knows nor cares who posts the offer.
 *
 * Both methods receive the connect attempt's signal: it aborts when the session is disposed
 * or the step's deadline passes, and an implementation should stop its requests then. They
 * reject with a {@link RealtimeConnectError} (`stage` `token` for `prepare`, `sdp` for
 * `exchangeOffer`); anything else thrown is wrapped by the session.
 */
export interface SdpExchange {
  /**
   * Who answers the offer: `openai` when the browser posts it to OpenAI itself (the default),
   * `backend` when the app's backend posts it and hands the answer back. A timeout of the
   * exchange names this party as the slow one.
   */
  readonly answeredBy?: "openai" | "backend";
  /**
   * Called as `connect()` starts, in parallel with the microphone and the offer: the place
   * for slow work that needs no offer (fetching a secret). The offer is only posted once this
   * resolves and the microphone is in hand. Optional.
   */
  prepare?(signal: AbortSignal): Promise<void>;
  /** Posts the offer; resolves with the answer and the call id. */
  exchangeOffer(offer: string, signal: AbortSignal): Promise<ExchangeResult>;
}

/** Options of {@link secretExchange}. */
export interface SecretExchangeOptions {
  /**
   * Returns an ephemeral client secret (`ek_…`). Called once per connect, in `prepare`, so a
   * cached or prefetched secret costs nothing.
   */
  getToken: () => Promise<string>;
  /** Where the offer goes. Defaults to {@link DEFAULT_CALLS_URL}. */
  callsUrl?: string;
  fetch?: FetchLike;
}

/**
 * The browser posts its offer to the calls endpoint with an ephemeral secret from your
 * backend (`POST /v1/realtime/calls`, `Authorization: Bearer ek_…`, `application/sdp`).
 * A non-2xx answer rejects with OpenAI's own message (`failure: "rejected"`, `cause` a
 * {@link RealtimeCallError}); its body is never handed to `setRemoteDescription`.
 */
export function secretExchange(options: SecretExchangeOptions): SdpExchange {
  const url = options.callsUrl ?? DEFAULT_CALLS_URL;
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  let secret: Promise<string> | null = null;
  const fetchSecret = async (): Promise<string> => {
    let token: string;
    try {
      token = await options.getToken();
    } catch (error) {
      throw new RealtimeConnectError("token", "token", messageOf(error), { cause: error });
    }
    if (typeof token !== "string" || token === "") {
      throw new RealtimeConnectError("token", "token", "The token provider returned no secret.");
    }
    return token;
  };
  return {
    answeredBy: "openai",
    prepare: async () => {
      secret = fetchSecret();
      await secret;
    },
    exchangeOffer: async (offer, signal) => {
      secret ??= fetchSecret();
      const token = await secret;
      // One secret per connect: a later connect through this exchange asks again, so an
      // expired or rejected secret is never reused by accident.
      secret = null;
      return postOffer({ fetch: fetchImpl, url, offer, token, signal });
    },
  };
}

async function postOffer(request: {
  fetch: FetchLike;
  url: string;
  offer: string;
  token: string;
  signal: AbortSignal;
}): Promise<ExchangeResult> {
  const { url, signal } = request;
  let response: Awaited<ReturnType<FetchLike>>;
  let body: string;
  try {
    response = await request.fetch(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${request.token}`, "Content-Type": "application/sdp" },
      body: request.offer,
      signal,
    });
    body = await response.text();
  } catch (error) {
    // The session turns an aborted signal into its own error (disposed, or the deadline).
    if (signal.aborted) throw signal.reason ?? error;
    throw new RealtimeConnectError(
      "sdp",
      "unreachable",
      `Couldn't reach OpenAI: ${messageOf(error)}`,
      { cause: error },
    );
  }
  if (!response.ok) {
    const callError = RealtimeCallError.fromResponse(response.status, response.statusText, body);
    throw new RealtimeConnectError("sdp", "rejected", callError.message, { cause: callError });
  }
  if (!body.startsWith("v=")) {
    throw new RealtimeConnectError(
      "sdp",
      "invalid-answer",
      `OpenAI answered the call request (HTTP ${response.status}) without an SDP answer.`,
    );
  }
  return { answer: body, callId: callIdFromLocation(response.headers.get("Location")) };
}

/** The last path segment of the answer's `Location` (`/v1/realtime/calls/rtc_…`). */
export function callIdFromLocation(location: string | null): string | null {
  if (!location) return null;
  const path = location.split(/[?#]/)[0] ?? "";
  const last = path.split("/").filter(Boolean).pop();
  return last ?? null;
}
