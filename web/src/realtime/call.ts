/*
 * The steps of opening a call that talk to the outside world: the client secret, the SDP
 * offer and its exchange with the calls endpoint. Each throws a RealtimeConnectError whose
 * `stage` names the step, so `connect()` only has to sequence them. Each calls `onReady`
 * the moment it succeeds, before its promise settles, so the session's timings (and the
 * events they emit) land exactly where the step ends rather than a microtask later.
 */
import { RealtimeCallError, RealtimeConnectError, messageOf } from "./errors";
import type { CloseReason, FetchLike, PeerConnectionLike } from "./types";

/** OpenAI's endpoint for opening a WebRTC call with an ephemeral client secret. */
export const DEFAULT_CALLS_URL = "https://api.openai.com/v1/realtime/calls";

/** The data channel name the Realtime API expects. */
export const EVENTS_CHANNEL = "oai-events";

/** Asks the app for a client secret; an empty one is a token-stage failure, not a 401 later. */
export async function fetchSecret(
  getToken: () => Promise<string>,
  onReady: () => void,
): Promise<string> {
  let token: string;
  try {
    token = await getToken();
  } catch (error) {
    throw new RealtimeConnectError("token", messageOf(error), { cause: error });
  }
  if (typeof token !== "string" || token === "") {
    throw new RealtimeConnectError("token", "The token provider returned an empty secret.");
  }
  onReady();
  return token;
}

/** Creates the offer and sets it as the local description; resolves with its SDP. */
export async function createOffer(pc: PeerConnectionLike, onReady: () => void): Promise<string> {
  try {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (!offer.sdp) throw new Error("The offer has no SDP.");
    onReady();
    return offer.sdp;
  } catch (error) {
    throw new RealtimeConnectError("offer", `Could not create the SDP offer: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/** What the calls endpoint answered to an offer. */
export interface CallAnswer {
  /** The SDP answer, for `setRemoteDescription`. */
  sdp: string;
  /** From the answer's `Location`; null when the endpoint sent none. */
  callId: string | null;
}

/**
 * Posts the SDP offer with the secret. A non-2xx answer rejects with OpenAI's own message
 * (the body is JSON then, and would make `setRemoteDescription` fail with a useless error);
 * an aborted request rejects at the `aborted` stage.
 */
export async function postOffer(request: {
  fetch: FetchLike;
  url: string;
  sdp: string;
  token: string;
  signal: AbortSignal;
  onReady: (answer: CallAnswer) => void;
}): Promise<CallAnswer> {
  const { url, signal } = request;
  let response: Awaited<ReturnType<FetchLike>>;
  let body: string;
  try {
    response = await request.fetch(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${request.token}`, "Content-Type": "application/sdp" },
      body: request.sdp,
      signal,
    });
    body = await response.text();
  } catch (error) {
    if (signal.aborted) throw abortedError();
    throw new RealtimeConnectError("sdp", `Could not reach ${url}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  if (!response.ok) {
    const callError = RealtimeCallError.fromResponse(response.status, response.statusText, body);
    throw new RealtimeConnectError("sdp", callError.message, { cause: callError });
  }
  if (!body.startsWith("v=")) {
    throw new RealtimeConnectError(
      "sdp",
      `The calls endpoint answered HTTP ${response.status} without an SDP answer.`,
    );
  }
  const answer = { sdp: body, callId: callIdFromLocation(response.headers.get("Location")) };
  request.onReady(answer);
  return answer;
}

/** The last path segment of the answer's `Location` (`/v1/realtime/calls/rtc_…`). */
export function callIdFromLocation(location: string | null): string | null {
  if (!location) return null;
  const path = location.split(/[?#]/)[0] ?? "";
  const last = path.split("/").filter(Boolean).pop();
  return last ?? null;
}

/** The error a `connect()` in progress rejects with when the session is disposed. */
export function abortedError(): RealtimeConnectError {
  return new RealtimeConnectError("aborted", "The session was closed while connecting.");
}

/** The error a `connect()` still waiting for the channel rejects with when the call ends. */
export function closedBeforeOpen(reason: CloseReason): RealtimeConnectError {
  switch (reason.kind) {
    case "client":
      return abortedError();
    case "ice-failed":
      return new RealtimeConnectError("channel", "The network connection to OpenAI failed (ICE).");
    case "ice-disconnected":
      return new RealtimeConnectError("channel", "The network connection to OpenAI dropped.");
    case "channel-closed":
      return new RealtimeConnectError("channel", "OpenAI closed the event channel.");
    case "server-limit":
      return new RealtimeConnectError("channel", reason.message);
    case "connect-failed":
      return reason.error;
  }
}
