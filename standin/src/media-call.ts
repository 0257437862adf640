/**
 * The media half of a call, werift on the answering side, shared by Realtime calls and Live
 * sessions: the peer connection, the `oai-events` data channel, the mic and the paced
 * outgoing audio, RTP counts, and the duration and idle limits. What is said on the data
 * channel is a {@link Dialogue}'s; the two APIs differ in vocabulary, not in media.
 */
import { MediaStreamTrack, RTCPeerConnection, useOPUS, type RTCDataChannel } from "werift";
import { OpusPacer, PACKET_MS } from "./opus-pacer.js";
import { RtpBurstLog, type RtpBurst } from "./rtp-bursts.js";
import { fixWeriftDtlsSequenceNumbers } from "./werift-dtls.js";

// Without it Chromium drops one DTLS record early in every call (see werift-dtls.ts).
if (!fixWeriftDtlsSequenceNumbers())
  throw new Error("werift changed: re-check standin/src/werift-dtls.ts against its DTLS code");

export type CallState = "connecting" | "connected" | "ended";

/**
 * Why a call ended, as the state endpoint reports it: `hangup` (the hangup route, or a Live
 * `session.close`), `max_duration` (`maxCallSeconds`), `idle` (not connected within
 * `idleCallSeconds`, or disconnected that long), `peer_closed` (the client closed its channel
 * or connection), `peer_gone` (the peer fell silent for `idleCallSeconds`, or ICE failed),
 * `standin_closed` (`close()`), `reset` (`POST /_standin/reset`), `vanished`
 * (`POST /_standin/calls/{id}/vanish`: the server side disappeared without a word, as a
 * crashed upstream or a cut network would).
 */
export type EndedReason =
  | "hangup"
  | "max_duration"
  | "idle"
  | "peer_closed"
  | "peer_gone"
  | "standin_closed"
  | "reset"
  | "vanished";

/** What a dialogue asks the media to do. */
export type MediaEffect =
  | { kind: "send"; event: { type: string } }
  | { kind: "audio.start"; responseId: string; durationMs: number }
  | { kind: "audio.stop"; responseId: string };

/** What a call speaks on its data channel. Each method returns the effects to carry out, in order. */
export interface Dialogue {
  /** The data channel opened. */
  start(): MediaEffect[];
  /** One data-channel message; `type` is what the call records as received. */
  receive(data: string | Buffer): { type: string; effects: MediaEffect[] };
  micPacket(payloadBytes: number): MediaEffect[];
  audioProgress(responseId: string, sentMs: number): MediaEffect[];
  audioFinished(responseId: string): MediaEffect[];
}

/** The media part of a call's record (`GET /_standin/state`). */
export interface MediaSnapshot {
  id: string;
  state: CallState;
  /** Event types received on the data channel in arrival order; unparseable ones as `(invalid)`. */
  eventsReceived: string[];
  /** Event types sent on the data channel. */
  eventsSent: string[];
  rtpPacketsIn: number;
  /** Sum of the mic RTP packets' payload sizes. */
  rtpBytesIn: number;
  /**
   * Mic RTP as runs of packets with their wall-clock times (a gap over 200 ms starts a new
   * run; the latest 500 are kept): when the client's microphone was actually sending.
   */
  rtpInBursts: RtpBurst[];
  rtpPacketsOut: number;
  audioMsSent: number;
  endedReason: EndedReason | null;
  /** Milliseconds from the offer's arrival to ICE+DTLS connected. */
  connectMs: number | null;
  /** Wall clock (unix ms) when the offer was answered. */
  startedAt: number;
  /** Wall clock (unix ms) when the call ended, or `null` while it lasts. */
  endedAt: number | null;
}

export interface MediaCallOptions {
  id: string;
  maxCallSeconds: number;
  idleCallSeconds: number;
  /** Wall clock (ms) when the offer arrived. */
  nowMs: number;
  /** Wall clock (ms) for `endedAt`. Default `Date.now`. */
  now?: () => number;
  log: (line: string) => void;
}

/** The data channel upstream's clients open and the only one the stand-in serves. */
export const EVENTS_CHANNEL = "oai-events";

/** Rejected offers: the HTTP layer answers these with a 400. */
export class InvalidOfferError extends Error {}

/** A call's media; subclasses give it their dialogue and their record. */
export abstract class MediaCall {
  readonly id: string;
  private readonly media: MediaCallOptions;
  private readonly protocol: Dialogue;
  private readonly pc: RTCPeerConnection;
  private readonly pacer: OpusPacer;
  private readonly track = new MediaStreamTrack({ kind: "audio" });
  private readonly startedAt = performance.now();
  private state: CallState = "connecting";
  private endedReason: EndedReason | null = null;
  private endedAt: number | null = null;
  private connectMs: number | null = null;
  private channel: RTCDataChannel | undefined;
  private channelOpen = false;
  /** Events produced before the channel opened (e.g. VAD on early mic audio) go out after the greeting. */
  private readonly pending: MediaEffect[] = [];
  private readonly eventsReceived: string[] = [];
  private readonly eventsSent: string[] = [];
  /** Audio sent of the latest answer. */
  protected latestAudioSentMs = 0;
  private rtpPacketsIn = 0;
  private readonly rtpIn = new RtpBurstLog();
  private rtpPacketsOut = 0;
  private audioMsSent = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Last RTP, RTCP or event from the peer: a live browser sends RTCP about every second. */
  private lastInboundAt = performance.now();
  private watchdog: NodeJS.Timeout | undefined;
  private hasAudio = false;
  private readonly maxTimer: NodeJS.Timeout;
  private ending: Promise<void> | undefined;

  protected constructor(options: MediaCallOptions, dialogue: Dialogue) {
    this.id = options.id;
    this.media = options;
    this.protocol = dialogue;
    this.pc = new RTCPeerConnection({
      // werift defaults to a public STUN server, which is unreachable offline and only delays gathering.
      iceServers: [],
      // Loopback is skipped by default; browsers on the same machine need it.
      iceAdditionalHostAddresses: ["127.0.0.1"],
      // Even with no iceServers, werift's ICE layer queries a built-in stun.l.google.com and
      // gathering waits up to 5 s for it; offline that query occasionally hangs (measured: 3 of
      // 10 concurrent calls answered 5 s late). Host candidates are all a local peer needs.
      iceStunGatherTimeout: 0,
      codecs: { audio: [useOPUS()], video: [] },
    });
    this.pacer = new OpusPacer({
      write: (packet) => {
        this.track.writeRtp(packet);
        this.rtpPacketsOut += 1;
        this.audioMsSent += PACKET_MS;
      },
    });
    this.wire();
    this.maxTimer = setTimeout(() => void this.end("max_duration"), options.maxCallSeconds * 1000);
    this.armIdleTimer();
  }

  /**
   * Answers an SDP offer for a new call. Resolves once the answer (with all local ICE
   * candidates, since the HTTP exchange has no trickle) is ready; the connection completes
   * afterwards. A rejected offer ends the call and throws {@link InvalidOfferError}.
   */
  protected static async answerWith<C extends MediaCall>(
    offerSdp: string,
    make: () => C,
  ): Promise<{ call: C; answerSdp: string }> {
    if (!/^v=0\r?\n/.test(offerSdp) || !/^m=/m.test(offerSdp))
      throw new InvalidOfferError("The request body is not an SDP offer.");
    const call = make();
    try {
      const answerSdp = await call.negotiate(offerSdp);
      return { call, answerSdp };
    } catch (error) {
      await call.end("peer_gone");
      if (error instanceof InvalidOfferError) throw error;
      throw new InvalidOfferError(
        `Invalid SDP offer: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private async negotiate(offerSdp: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
    const audio = this.pc.getTransceivers().find((t) => t.kind === "audio");
    if (audio) {
      this.hasAudio = true;
      await audio.sender.replaceTrack(this.track);
      audio.setDirection("sendrecv");
      audio.sender.onRtcp.subscribe(() => this.touch());
      audio.receiver.onRtcp.subscribe(() => this.touch());
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    if (this.pc.iceGatheringState !== "complete")
      await new Promise<void>((resolve) => {
        const { unSubscribe } = this.pc.iceGatheringStateChange.subscribe((state) => {
          if (state === "complete") {
            unSubscribe();
            resolve();
          }
        });
      });
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error("werift produced no answer");
    return sdp;
  }

  private wire(): void {
    this.pc.onTrack.subscribe((remote) => {
      if (remote.kind !== "audio") return;
      remote.onReceiveRtp.subscribe((packet) => {
        if (this.state === "ended") return;
        this.rtpPacketsIn += 1;
        this.rtpIn.packet((this.media.now ?? Date.now)(), packet.payload.length);
        this.touch();
        this.execute(this.protocol.micPacket(packet.payload.length));
      });
    });
    this.pc.onDataChannel.subscribe((channel) => {
      if (channel.label !== EVENTS_CHANNEL || this.channel) return;
      this.channel = channel;
      channel.onMessage.subscribe((data) => this.onMessage(data));
      channel.stateChange.subscribe((state) => {
        if (state === "open") this.onChannelOpen();
        if (state === "closed") void this.end("peer_closed");
      });
      if (channel.readyState === "open") this.onChannelOpen();
    });
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === "connected" && this.state === "connecting") {
        this.state = "connected";
        this.connectMs = Math.round(performance.now() - this.startedAt);
        this.media.log(`call ${this.id} connected in ${this.connectMs} ms`);
      }
      // A peer that drops off the network shows as "disconnected" first; give it the idle window to return.
      if (state === "connected") {
        this.clearIdleTimer();
        this.startWatchdog();
      }
      if (state === "disconnected") this.armIdleTimer();
      if (state === "failed" || state === "closed") void this.end("peer_gone");
    });
  }

  private onChannelOpen(): void {
    if (this.channelOpen || this.state === "ended") return;
    this.channelOpen = true;
    this.execute(this.protocol.start());
    this.execute(this.pending.splice(0));
  }

  private onMessage(data: string | Buffer): void {
    if (this.state === "ended") return;
    this.touch();
    const { type, effects } = this.protocol.receive(data);
    this.eventsReceived.push(type);
    this.execute(effects);
  }

  /** Carries out a dialogue's effects; sends wait for the channel to open. */
  protected execute(effects: readonly MediaEffect[]): void {
    for (const effect of effects) {
      if (this.state === "ended") return;
      switch (effect.kind) {
        case "send":
          if (!this.channelOpen || !this.channel) {
            this.pending.push(effect);
            break;
          }
          try {
            this.channel.send(JSON.stringify(effect.event));
            this.eventsSent.push(effect.event.type);
            this.onSent(effect.event);
          } catch (error) {
            this.media.log(`call ${this.id}: send failed: ${String(error)}`);
          }
          break;
        case "audio.start":
          this.latestAudioSentMs = 0;
          this.pacer.play(
            effect.durationMs,
            (sentMs) => {
              this.latestAudioSentMs = sentMs;
              this.execute(this.protocol.audioProgress(effect.responseId, sentMs));
            },
            () => this.execute(this.protocol.audioFinished(effect.responseId)),
          );
          break;
        case "audio.stop":
          this.pacer.stop();
          break;
      }
    }
  }

  /** An event went out on the data channel. */
  protected onSent(_event: { type: string }): void {}

  /**
   * What the dialogue says before the transport goes away for `reason` (given a moment to
   * arrive). Nothing by default.
   */
  protected farewell(_reason: EndedReason): MediaEffect[] {
    return [];
  }

  /** The call has ended (its record is final); the peer is closing. */
  protected afterEnd(): void {}

  private touch(): void {
    this.lastInboundAt = performance.now();
  }

  /**
   * A peer that vanishes without closing (crash, network gone) would otherwise only be
   * noticed by ICE consent after about 30 s. With an audio m-line a live peer sends RTCP
   * at least every few seconds, so silence for the idle window means it is gone.
   * Data-channel-only peers are left to ICE consent: they may legitimately stay quiet.
   */
  private startWatchdog(): void {
    if (!this.hasAudio || this.watchdog) return;
    this.touch();
    const limitMs = this.media.idleCallSeconds * 1000;
    this.watchdog = setInterval(
      () => {
        if (performance.now() - this.lastInboundAt > limitMs) void this.end("peer_gone");
      },
      Math.min(1000, limitMs / 4),
    );
  }

  private armIdleTimer(): void {
    this.clearIdleTimer();
    this.idleTimer = setTimeout(() => void this.end("idle"), this.media.idleCallSeconds * 1000);
  }

  private clearIdleTimer(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  get ended(): boolean {
    return this.state === "ended";
  }

  /**
   * Plays an upstream that vanishes mid-call: the call's UDP sockets are closed first, so the
   * peer gets no DTLS close, no SCTP abort and no more STUN answers; only its own liveness
   * checks can tell. Then the call is ended as `vanished`.
   */
  async vanish(): Promise<void> {
    if (this.state === "ended") return;
    this.pacer.stop();
    for (const transport of this.pc.iceTransports) {
      // werift keeps its sockets behind the ICE connection; closing them is the only way to
      // stop every packet (consent answers included) without werift saying goodbye first.
      const protocols = (
        transport.connection as unknown as { protocols?: { close(): Promise<void> }[] }
      ).protocols;
      for (const protocol of protocols ?? []) await protocol.close().catch(() => undefined);
    }
    await this.end("vanished");
  }

  /** Ends the call once; later calls return the same promise. */
  end(reason: EndedReason): Promise<void> {
    this.ending ??= this.close(reason);
    return this.ending;
  }

  private async close(reason: EndedReason): Promise<void> {
    const farewell = this.state === "ended" ? [] : this.farewell(reason);
    if (farewell.length > 0) {
      this.execute(farewell);
      // Let the last events reach the client before the transport goes away.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    this.state = "ended";
    this.endedReason = reason;
    this.endedAt = (this.media.now ?? Date.now)();
    this.pacer.stop();
    clearTimeout(this.maxTimer);
    clearInterval(this.watchdog);
    this.clearIdleTimer();
    this.media.log(`call ${this.id} ended (${reason})`);
    this.afterEnd();
    await Promise.race([
      this.pc.close().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 2000).unref()),
    ]);
  }

  /** The media part of the call's record. */
  protected mediaSnapshot(): MediaSnapshot {
    return {
      id: this.id,
      state: this.state,
      eventsReceived: [...this.eventsReceived],
      eventsSent: [...this.eventsSent],
      rtpPacketsIn: this.rtpPacketsIn,
      rtpBytesIn: this.rtpIn.bytes,
      rtpInBursts: this.rtpIn.bursts,
      rtpPacketsOut: this.rtpPacketsOut,
      audioMsSent: this.audioMsSent,
      endedReason: this.endedReason,
      connectMs: this.connectMs,
      startedAt: this.media.nowMs,
      endedAt: this.endedAt,
    };
  }
}
