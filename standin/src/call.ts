/**
 * One WebRTC call, werift on the answering side: accepts the client's `oai-events` data
 * channel and audio track, runs the scripted conversation over them, streams the scripted
 * audio, counts everything for the state endpoint, and enforces the duration and idle limits.
 */
import { MediaStreamTrack, RTCPeerConnection, useOPUS, type RTCDataChannel } from "werift";
import { parseClientEvent } from "./client-events.js";
import { Conversation, type Effect } from "./conversation.js";
import type { NewId } from "./ids.js";
import type { ItemRecord } from "./items.js";
import { OpusPacer, PACKET_MS } from "./opus-pacer.js";
import { RtpBurstLog, type RtpBurst } from "./rtp-bursts.js";
import type { Session } from "./session.js";
import { fixWeriftDtlsSequenceNumbers } from "./werift-dtls.js";

// Without it Chromium drops one DTLS record early in every call (see werift-dtls.ts).
if (!fixWeriftDtlsSequenceNumbers())
  throw new Error("werift changed: re-check standin/src/werift-dtls.ts against its DTLS code");

export type CallState = "connecting" | "connected" | "ended";

/**
 * Why a call ended, as the state endpoint reports it: `hangup` (the hangup route),
 * `max_duration` (`maxCallSeconds`), `idle` (not connected within `idleCallSeconds`, or
 * disconnected that long), `peer_closed` (the client closed its channel or connection),
 * `peer_gone` (the peer fell silent for `idleCallSeconds`, or ICE failed), `standin_closed`
 * (`close()`), `reset` (`POST /_standin/reset`), `vanished` (`POST /_standin/calls/{id}/vanish`:
 * the server side disappeared without a word, as a crashed upstream or a cut network would).
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

/** A call as `GET /_standin/state` reports it. */
export interface CallSnapshot {
  id: string;
  state: CallState;
  /** The client secret that opened the call (`null` when a standard key did). */
  secret: string | null;
  session: Session;
  /** Client event types in arrival order; unparseable messages appear as `(invalid)`. */
  eventsReceived: string[];
  eventsSent: string[];
  /**
   * Each accepted `conversation.item.truncate`, as confirmed to the client, with `sentMs`: how
   * much of the latest answer's audio had been sent when it arrived (what a client can at most
   * have heard of it, while generation runs further ahead).
   */
  truncations: { itemId: string; audioEndMs: number; sentMs: number }[];
  /** The conversation's items in order, as text: what a response on this call is built from. */
  items: ItemRecord[];
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
  /** The `OpenAI-Safety-Identifier` header of the request that opened the call. */
  safetyIdentifier: string | null;
}

export interface CallOptions {
  id: string;
  secret: string | null;
  /** The session the call starts with; its `expires_at` is set from `maxCallSeconds`. */
  session: Session;
  newId: NewId;
  responseAudioMs: number;
  maxCallSeconds: number;
  idleCallSeconds: number;
  /** Wall clock (ms) for the session's `expires_at`. */
  nowMs: number;
  /** Wall clock (ms) for `endedAt`. Default `Date.now`. */
  now?: () => number;
  /** The `OpenAI-Safety-Identifier` the call was opened with. Default `null`. */
  safetyIdentifier?: string | null;
  log: (line: string) => void;
  onEnded?: (call: Call) => void;
}

/** The data channel upstream's clients open and the only one the stand-in serves. */
export const EVENTS_CHANNEL = "oai-events";

/** Rejected offers: the HTTP layer answers these with a 400. */
export class InvalidOfferError extends Error {}

/** A live call; create it with {@link Call.answer}. */
export class Call {
  readonly id: string;
  private readonly options: CallOptions;
  private readonly pc: RTCPeerConnection;
  private readonly conversation: Conversation;
  private readonly pacer: OpusPacer;
  private readonly track = new MediaStreamTrack({ kind: "audio" });
  private readonly startedAt = performance.now();
  private state: CallState = "connecting";
  private endedReason: EndedReason | null = null;
  private endedAt: number | null = null;
  private connectMs: number | null = null;
  private channel: RTCDataChannel | undefined;
  private channelOpen = false;
  /** Events produced before the channel opened (e.g. VAD on early mic audio) go out after `session.created`. */
  private readonly pending: Effect[] = [];
  private readonly eventsReceived: string[] = [];
  private readonly eventsSent: string[] = [];
  private readonly truncations: { itemId: string; audioEndMs: number; sentMs: number }[] = [];
  /** Audio sent of the latest answer (for {@link CallSnapshot.truncations}). */
  private latestAudioSentMs = 0;
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

  private constructor(options: CallOptions) {
    this.id = options.id;
    this.options = options;
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
    const session: Session = {
      ...options.session,
      expires_at: Math.floor(options.nowMs / 1000) + options.maxCallSeconds,
    };
    this.conversation = new Conversation({
      session,
      newId: options.newId,
      responseAudioMs: options.responseAudioMs,
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
   * Answers an SDP offer. Resolves once the answer (with all local ICE candidates, since
   * the HTTP exchange has no trickle) is ready; the connection completes afterwards.
   */
  static async answer(
    offerSdp: string,
    options: CallOptions,
  ): Promise<{ call: Call; answerSdp: string }> {
    if (!/^v=0\r?\n/.test(offerSdp) || !/^m=/m.test(offerSdp))
      throw new InvalidOfferError("The request body is not an SDP offer.");
    const call = new Call(options);
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
        this.rtpIn.packet((this.options.now ?? Date.now)(), packet.payload.length);
        this.touch();
        this.execute(this.conversation.micPacket(packet.payload.length));
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
        this.options.log(`call ${this.id} connected in ${this.connectMs} ms`);
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
    this.execute(this.conversation.start());
    this.execute(this.pending.splice(0));
  }

  private onMessage(data: string | Buffer): void {
    if (this.state === "ended") return;
    this.touch();
    const parsed = parseClientEvent(data);
    this.eventsReceived.push(parsed.ok ? parsed.event.type : (parsed.type ?? "(invalid)"));
    this.execute(this.conversation.handle(parsed));
  }

  private execute(effects: Effect[]): void {
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
            if (effect.event.type === "conversation.item.truncated") {
              const { item_id: itemId, audio_end_ms: audioEndMs } = effect.event;
              this.truncations.push({ itemId, audioEndMs, sentMs: this.latestAudioSentMs });
            }
          } catch (error) {
            this.options.log(`call ${this.id}: send failed: ${String(error)}`);
          }
          break;
        case "audio.start":
          this.latestAudioSentMs = 0;
          this.pacer.play(
            effect.durationMs,
            (sentMs) => {
              this.latestAudioSentMs = sentMs;
              this.execute(this.conversation.audioProgress(effect.responseId, sentMs));
            },
            () => this.execute(this.conversation.audioFinished(effect.responseId)),
          );
          break;
        case "audio.stop":
          this.pacer.stop();
          break;
      }
    }
  }

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
    const limitMs = this.options.idleCallSeconds * 1000;
    this.watchdog = setInterval(
      () => {
        if (performance.now() - this.lastInboundAt > limitMs) void this.end("peer_gone");
      },
      Math.min(1000, limitMs / 4),
    );
  }

  private armIdleTimer(): void {
    this.clearIdleTimer();
    this.idleTimer = setTimeout(() => void this.end("idle"), this.options.idleCallSeconds * 1000);
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
    if (reason === "max_duration") {
      this.execute(this.conversation.expire(this.options.maxCallSeconds));
      // Let the error reach the client before the transport goes away.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    this.state = "ended";
    this.endedReason = reason;
    this.endedAt = (this.options.now ?? Date.now)();
    this.pacer.stop();
    clearTimeout(this.maxTimer);
    clearInterval(this.watchdog);
    this.clearIdleTimer();
    this.options.log(`call ${this.id} ended (${reason})`);
    this.options.onEnded?.(this);
    await Promise.race([
      this.pc.close().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 2000).unref()),
    ]);
  }

  snapshot(): CallSnapshot {
    return {
      id: this.id,
      state: this.state,
      secret: this.options.secret,
      session: this.conversation.currentSession,
      eventsReceived: [...this.eventsReceived],
      eventsSent: [...this.eventsSent],
      truncations: [...this.truncations],
      items: this.conversation.itemRecords,
      rtpPacketsIn: this.rtpPacketsIn,
      rtpBytesIn: this.rtpIn.bytes,
      rtpInBursts: this.rtpIn.bursts,
      rtpPacketsOut: this.rtpPacketsOut,
      audioMsSent: this.audioMsSent,
      endedReason: this.endedReason,
      connectMs: this.connectMs,
      startedAt: this.options.nowMs,
      endedAt: this.endedAt,
      safetyIdentifier: this.options.safetyIdentifier ?? null,
    };
  }
}
