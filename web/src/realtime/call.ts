/*
 * Steps of opening a call that the session sequences: the offer, and the deadline every step
 * runs under. Each throws a RealtimeConnectError whose `stage` names the step.
 */
import { RealtimeConnectError, messageOf, stageWait, type ConnectWait } from "./errors";
import type { Clock, CloseReason, PeerConnectionLike } from "./types";

/** The data channel name the Realtime API expects. */
export const EVENTS_CHANNEL = "oai-events";

/** How long each step of `connect()` may take, in ms. */
export interface ConnectDeadlines {
  /** getUserMedia, permission prompt included. */
  microphone: number;
  /** The exchange's `prepare` (fetching the secret). */
  token: number;
  /** Building the offer. */
  offer: number;
  /** Posting the offer until the answer is applied. */
  sdp: number;
  /** ICE, DTLS and the event channel opening, after the answer. */
  channel: number;
}

/** The defaults: a permission prompt gets a minute, network steps well above their p99. */
export const DEFAULT_DEADLINES: ConnectDeadlines = {
  microphone: 60_000,
  token: 20_000,
  offer: 10_000,
  sdp: 15_000,
  channel: 15_000,
};

/** A timeout's sentence, by what the step waited for; `s` is the deadline in seconds. */
const WAIT_TEXT: Record<ConnectWait, (s: number) => string> = {
  microphone: (s) => `The microphone did not open within ${s} s`,
  token: (s) => `The session key did not come within ${s} s`,
  offer: (s) => `The browser did not build its offer within ${s} s`,
  "openai-answer": (s) => `OpenAI's answer did not come within ${s} s`,
  "backend-answer": (s) => `The voice server (this app's function) did not answer within ${s} s`,
  "upstream-answer": () => "OpenAI did not answer the voice server in time",
  ice: (s) => `The audio connection to OpenAI did not open within ${s} s`,
  channel: (s) => `OpenAI's event channel did not open within ${s} s`,
};

/** The `timeout` error of a step that waited `ms` for `waited`. */
export function timeoutError(
  stage: keyof ConnectDeadlines,
  waited: ConnectWait,
  ms: number,
): RealtimeConnectError {
  return new RealtimeConnectError(stage, "timeout", WAIT_TEXT[waited](ms / 1000), { waited });
}

/**
 * Runs `work` under a deadline: it rejects with a `timeout` failure when the deadline passes,
 * naming what the step was waiting for then (`waiting()`, asked at that moment: by default
 * the stage's usual party, see {@link stageWait}), and with `signal.reason` when the attempt
 * is aborted first. `work` gets a signal that aborts in both cases, so a fetch behind it
 * stops. The timer is cleared however it ends.
 */
export function withDeadline<T>(
  step: keyof ConnectDeadlines,
  ms: number,
  clock: Clock,
  signal: AbortSignal,
  work: (signal: AbortSignal) => Promise<T>,
  waiting: () => ConnectWait = () => stageWait(step),
): Promise<T> {
  const controller = new AbortController();
  const aborted = new Promise<never>((_, reject) =>
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason as Error)),
  );
  const onAbort = () => controller.abort(signal.reason);
  const timer = clock.setTimeout(() => controller.abort(timeoutError(step, waiting(), ms)), ms);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort);
  return Promise.race([work(controller.signal), aborted]).finally(() => {
    clock.clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  });
}

/** Creates the offer and sets it as the local description; resolves with its SDP. */
export async function createOffer(pc: PeerConnectionLike): Promise<string> {
  try {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (!offer.sdp) throw new Error("The offer has no SDP.");
    return offer.sdp;
  } catch (error) {
    throw new RealtimeConnectError(
      "offer",
      "unsupported",
      `Could not create the SDP offer: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

/** The error a `connect()` in progress rejects with when the session is disposed. */
export function abortedError(): RealtimeConnectError {
  return new RealtimeConnectError("aborted", "aborted", "The session was closed while connecting.");
}

/** The error a `connect()` still in progress rejects with when the call ends under it. */
export function closedBeforeOpen(reason: CloseReason): RealtimeConnectError {
  if (reason.kind === "client") return abortedError();
  if (reason.kind === "connect-failed") return reason.error;
  return new RealtimeConnectError(
    "channel",
    "connection",
    reason.kind === "server-limit"
      ? reason.message
      : reason.kind === "live-closed"
        ? `The server closed the session (${reason.reason}).`
        : "The connection to OpenAI was lost.",
  );
}
