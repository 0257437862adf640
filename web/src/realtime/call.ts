/*
 * Steps of opening a call that the session sequences: the offer, and the deadline every step
 * runs under. Each throws a RealtimeConnectError whose `stage` names the step.
 */
import { RealtimeConnectError, messageOf } from "./errors";
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

const STEP_NAMES: Record<keyof ConnectDeadlines, string> = {
  microphone: "The microphone",
  token: "The session key",
  offer: "The offer",
  sdp: "OpenAI's answer",
  channel: "The connection to OpenAI",
};

/**
 * Runs `work` under a deadline: it rejects with a `timeout` failure naming the step when the
 * deadline passes, and with `signal.reason` when the attempt is aborted first. `work` gets a
 * signal that aborts in both cases, so a fetch behind it stops. The timer is cleared however
 * it ends.
 */
export function withDeadline<T>(
  step: keyof ConnectDeadlines,
  ms: number,
  clock: Clock,
  signal: AbortSignal,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const aborted = new Promise<never>((_, reject) =>
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason as Error)),
  );
  const onAbort = () => controller.abort(signal.reason);
  const timer = clock.setTimeout(
    () =>
      controller.abort(
        new RealtimeConnectError(
          step,
          "timeout",
          `${STEP_NAMES[step]} did not come within ${ms / 1000} s`,
        ),
      ),
    ms,
  );
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
    reason.kind === "server-limit" ? reason.message : "The connection to OpenAI was lost.",
  );
}
