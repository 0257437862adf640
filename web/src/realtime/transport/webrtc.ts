import { EVENTS_CHANNEL, createOffer } from "../call";
import { RealtimeConnectError, isRecord, messageOf } from "../errors";
import type { PreparedCall } from "../prepare";
import type { DataChannelLike, MediaStreamLike, PeerConnectionLike, RtpSenderLike } from "../types";
import type { EventTransport, TransportHandlers } from "./transport";

/**
 * What exists in each phase of a WebRTC transport (as `@openai/agents-realtime`'s
 * `WebRTCState`): the peer connection and its event channel from construction until the
 * close, the call id once the answer named it.
 */
export type WebRtcState =
  | {
      status: "connecting";
      pc: PeerConnectionLike;
      channel: DataChannelLike;
      callId: string | null;
    }
  | { status: "connected"; pc: PeerConnectionLike; channel: DataChannelLike; callId: string | null }
  | { status: "closed" };

/** Options of {@link WebRtcTransport}. */
export interface WebRtcTransportOptions extends TransportHandlers {
  /** A call made before (see `CallPreparer`), adopted as it is; null to build one. */
  prepared: PreparedCall | null;
  /** Builds the peer connection when nothing was prepared. */
  createPeerConnection: () => PeerConnectionLike;
  /** The remote audio arrived (not reported after the close). */
  onRemoteStream(stream: MediaStreamLike): void;
}

/**
 * One WebRTC call: a peer connection with one `sendrecv` audio transceiver and the
 * `oai-events` data channel. It carries the audio and the channel's text messages; what the
 * messages mean is the protocol's business, and what to send the offer to is the exchange's.
 */
export class WebRtcTransport implements EventTransport {
  /** The audio transceiver's sender; the microphone's track goes on it. */
  readonly sender: RtpSenderLike;
  /** The peer connection, for the watches that read its state and statistics. */
  readonly peer: PeerConnectionLike;
  readonly #preparedOffer: string | null;
  #state: WebRtcState;

  constructor(options: WebRtcTransportOptions) {
    const { prepared } = options;
    const pc = prepared?.pc ?? options.createPeerConnection();
    this.peer = pc;
    pc.addEventListener("track", (event) => {
      const stream = event.streams[0];
      if (stream && this.#state.status !== "closed") options.onRemoteStream(stream);
    });
    // A prepared call's transceiver has no track yet, like the one built here: the offer
    // does not need one.
    this.sender = prepared?.sender ?? pc.addTransceiver("audio", { direction: "sendrecv" }).sender;
    const channel = prepared?.channel ?? pc.createDataChannel(EVENTS_CHANNEL);
    this.#preparedOffer = prepared?.offer ?? null;
    this.#state = { status: "connecting", pc, channel, callId: null };
    channel.addEventListener("open", () => {
      if (this.#state.status !== "connecting") return;
      this.#state = { ...this.#state, status: "connected" };
      options.onOpen();
    });
    channel.addEventListener("close", () => {
      if (this.#state.status !== "closed") options.onClose();
    });
    channel.addEventListener("message", (event) => {
      if (this.#state.status !== "closed") options.onMessage(event.data);
    });
  }

  get state(): WebRtcState {
    return this.#state;
  }

  /** The call id from the SDP answer's `Location` (`rtc_…`), once known. */
  get callId(): string | null {
    return this.#state.status === "closed" ? null : this.#state.callId;
  }

  get isOpen(): boolean {
    return this.#state.status === "connected" && this.#state.channel.readyState === "open";
  }

  /** The offer's SDP: the prepared one, or one made now. */
  offer(): Promise<string> {
    if (this.#preparedOffer !== null) return Promise.resolve(this.#preparedOffer);
    if (this.#state.status === "closed") return Promise.reject(new Error("The call is closed."));
    return createOffer(this.#state.pc);
  }

  /** The exchange named the call. */
  setCallId(callId: string | null): void {
    if (this.#state.status !== "closed") this.#state = { ...this.#state, callId };
  }

  /** Applies the SDP answer; a refused one fails as `invalid-answer`. */
  async applyAnswer(answer: string): Promise<void> {
    if (this.#state.status === "closed") return;
    try {
      await this.#state.pc.setRemoteDescription({ type: "answer", sdp: answer });
    } catch (error) {
      throw new RealtimeConnectError(
        "sdp",
        "invalid-answer",
        `The SDP answer was rejected: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }

  send(text: string): void {
    if (this.#state.status === "closed") throw new Error("The call is closed.");
    this.#state.channel.send(text);
  }

  /** The peer connection's statistics, or undefined once closed. */
  getStats(): Promise<ReadonlyMap<string, unknown>> | undefined {
    return this.#state.status === "closed" ? undefined : this.#state.pc.getStats();
  }

  close(): void {
    const state = this.#state;
    if (state.status === "closed") return;
    this.#state = { status: "closed" };
    try {
      state.channel.close();
    } catch {
      // Already closed.
    }
    try {
      state.pc.close();
    } catch {
      // Already closed.
    }
  }
}

/** Bytes of audio received and sent over a call. */
export interface AudioBytes {
  inboundAudioBytes: number;
  outboundAudioBytes: number;
}

/** Sums the audio RTP streams' byte counters of a statistics report. */
export function audioBytes(report: ReadonlyMap<string, unknown>): AudioBytes {
  const totals = { inboundAudioBytes: 0, outboundAudioBytes: 0 };
  report.forEach((stat) => {
    if (!isRecord(stat) || stat.kind !== "audio") return;
    if (stat.type === "inbound-rtp" && typeof stat.bytesReceived === "number") {
      totals.inboundAudioBytes += stat.bytesReceived;
    } else if (stat.type === "outbound-rtp" && typeof stat.bytesSent === "number") {
      totals.outboundAudioBytes += stat.bytesSent;
    }
  });
  return totals;
}
