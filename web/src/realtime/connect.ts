import { withDeadline, type ConnectDeadlines } from "./call";
import { RealtimeConnectError, messageOf, type ConnectWait } from "./errors";
import type { SdpExchange } from "./exchange";
import { permissionGranted, type Microphone, type MicrophoneSource } from "./microphone";
import type { PreparedCall } from "./prepare";
import type { WebRtcTransport } from "./transport/webrtc";
import type { Clock, ConnectTimings, MediaStreamLike } from "./types";

/** What one `connect()` runs on; the session builds it for each attempt. */
export interface ConnectRun {
  source: MicrophoneSource;
  /** A call prepared before `connect()`, taken once; null to build one. */
  preparedCall: (() => PreparedCall | null) | undefined;
  exchange: SdpExchange;
  microphone: Microphone;
  clock: Clock;
  deadlines: ConnectDeadlines;
  /** Aborts on `dispose()`: every step still running rejects. */
  signal: AbortSignal;
  /** Settles when the event channel opens. */
  opened: Promise<void>;
  mark(step: keyof ConnectTimings): void;
  /** Builds the transport around the prepared call, or a new one; the session adopts it. */
  openTransport(prepared: PreparedCall | null): WebRtcTransport;
  /** The microphone stream, before its track joins the call. */
  onLocalStream(stream: MediaStreamLike): void;
}

/**
 * Runs the steps of `connect()` until the event channel is open, each under its deadline.
 * The microphone, the exchange's `prepare` (the secret) and the offer are prepared in
 * parallel; the offer goes through the exchange once all three are in hand, without waiting
 * for a microphone that is already allowed (its track then joins before the answer is
 * applied), never while a permission prompt is showing (a brokered call's minutes would run).
 */
export async function runConnect(run: ConnectRun): Promise<WebRtcTransport> {
  const { signal, deadlines, clock, exchange } = run;
  const step = <T>(
    name: keyof ConnectDeadlines,
    work: (signal: AbortSignal) => Promise<T>,
    waiting?: () => ConnectWait,
  ): Promise<T> => withDeadline(name, deadlines[name], clock, signal, work, waiting);
  // The microphone (a device to open, maybe a permission prompt) and the secret (a round
  // trip to the backend unless cached) are the slow steps and run outside this thread:
  // ask for both first, then build the peer connection and the offer while they run.
  const microphone = step("microphone", () =>
    run.microphone.acquire(run.source, () => run.mark("microphone")),
  );
  const granted = run.source.mediaStream
    ? Promise.resolve(false)
    : Promise.resolve()
        .then(() => (run.source.microphoneGranted ?? permissionGranted)())
        .catch(() => false);
  const prepare = exchange.prepare?.bind(exchange);
  const prepared = step("token", async (stepSignal) => {
    try {
      await prepare?.(stepSignal);
    } catch (error) {
      throw asConnectError(error, "token", "token");
    }
    run.mark("token");
  });
  // Awaited below; if building the peer connection throws first, these must not surface
  // as unhandled rejections (a microphone that arrives after the close is stopped).
  microphone.catch(() => undefined);
  prepared.catch(() => undefined);
  // A call prepared before the click is adopted as it is; else one is built here. Either
  // way the transceiver has no track yet: the offer does not need one, so it is ready
  // while the microphone permission prompt is still open.
  const ahead = run.preparedCall?.() ?? null;
  const transport = run.openTransport(ahead);
  const offer = ahead
    ? transport.offer().finally(() => run.mark("offer"))
    : step("offer", async () => {
        const sdp = await transport.offer();
        run.mark("offer");
        return sdp;
      });
  const microphoneClear = Promise.race([
    microphone,
    granted.then((allowed) => (allowed ? null : microphone)),
  ]);
  const [, , offerSdp] = await Promise.all([microphoneClear, prepared, offer]);
  // The transceiver is already sendrecv, so putting the track on it needs no new offer:
  // it runs alongside the SDP exchange instead of before it.
  let micSending = false;
  const sending = microphone.then((stream) => {
    signal.throwIfAborted();
    run.microphone.attach(stream);
    run.onLocalStream(stream);
    micSending = true;
    return run.microphone.send(transport.sender);
  });
  sending.catch(() => undefined); // awaited below, unless the SDP exchange fails first
  // Who a timeout of the SDP step blames: the party answering the offer until the answer is
  // in; after it, a microphone that an allowed permission let the offer go without.
  let answered = false;
  const answerer: ConnectWait =
    exchange.answeredBy === "backend" ? "backend-answer" : "openai-answer";
  const sdpWait = (): ConnectWait => (answered && !micSending ? "microphone" : answerer);
  await step(
    "sdp",
    async (stepSignal) => {
      run.mark("offerSent");
      let result;
      try {
        result = await exchange.exchangeOffer(offerSdp, stepSignal);
      } catch (error) {
        throw asConnectError(error, "sdp", "rejected");
      }
      answered = true;
      // An exchange may finish after the attempt was abandoned: nothing of it is applied then.
      stepSignal.throwIfAborted();
      transport.setCallId(result.callId);
      run.mark("sdpAnswer");
      await sending;
      stepSignal.throwIfAborted();
      run.microphone.goLive();
      await transport.applyAnswer(result.answer);
    },
    sdpWait,
  );
  // ICE and DTLS done (`connected`) and still no channel: the channel is what is late.
  await step(
    "channel",
    () => run.opened,
    () => (transport.peer.connectionState === "connected" ? "channel" : "ice"),
  );
  // The channel's open event may have been the moment someone disposed the session.
  if (signal.aborted) throw signal.reason;
  return transport;
}

/** `error` as a {@link RealtimeConnectError}, wrapping anything else at `stage`. */
export function asConnectError(
  error: unknown,
  stage: RealtimeConnectError["stage"],
  failure: RealtimeConnectError["failure"],
): RealtimeConnectError {
  if (error instanceof RealtimeConnectError) return error;
  return new RealtimeConnectError(stage, failure, messageOf(error), { cause: error });
}
