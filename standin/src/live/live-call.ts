/**
 * One Live WebRTC session: the shared media (media-call.ts) speaking Live's vocabulary
 * (dialogue.ts), its sideband WebSockets, the usage clock, and its record for the state
 * endpoint: the config and allowlists the server chose, who ended the session and when.
 */
import type {
  DataChannelConfig,
  MediaSessionConfig,
  ServerEvent,
  SessionResource,
} from "openai/resources/live/live";
import type { WebSocket } from "ws";
import type { NewId } from "../ids.js";
import {
  MediaCall,
  type EndedReason,
  type MediaEffect,
  type MediaSnapshot,
} from "../media-call.js";
import { resolveLiveSession } from "./config.js";
import {
  LiveDialogue,
  type Appended,
  type CommandSource,
  type LiveCloseReason,
  type LiveOut,
} from "./dialogue.js";

/**
 * Who ended a Live session: `sideband` or `page` (a `session.close` on the sideband or the
 * data channel), `expiry` (`expires_at`), `peer` (the page closed or went away), `standin`
 * (`close()`, reset).
 */
export type LiveEndedBy = "sideband" | "page" | "expiry" | "peer" | "standin";

/** A Live session as `GET /_standin/state` reports it. */
export interface LiveSessionSnapshot extends MediaSnapshot {
  /** The `session` of the create request, as the server sent it. */
  config: MediaSessionConfig;
  /** The session as `session.started` (or the latest `session.updated`) reported it. */
  session: SessionResource;
  allowedClientEvents: NonNullable<DataChannelConfig["allowed_client_events"]>;
  allowedServerEvents: NonNullable<DataChannelConfig["allowed_server_events"]>;
  /** Data-channel events the allowlist refused, in order (each got an `error`). */
  refusedEvents: string[];
  /** Instructions, thinking and commentary appended while the session ran. */
  appended: Appended[];
  muted: boolean;
  /** Sideband connections attached over the session's life, and the event types they sent. */
  sidebandsAttached: number;
  sidebandEventsReceived: string[];
  /** The latest cumulative usage reported (`session.usage.updated`, `session.closed`). */
  usageSeconds: number;
  closeReason: LiveCloseReason | null;
  endedBy: LiveEndedBy | null;
}

export interface LiveCallOptions {
  id: string;
  config: MediaSessionConfig;
  newId: NewId;
  responseAudioMs: number;
  maxCallSeconds: number;
  idleCallSeconds: number;
  /** How often `session.usage.updated` goes out. */
  usageIntervalMs: number;
  /** Wall clock (ms) when the offer arrived; the session's timeline starts here. */
  nowMs: number;
  now?: () => number;
  log: (line: string) => void;
  onEnded?: (call: LiveCall) => void;
}

/** How long `session.closed` is given to reach the page before the peer closes. */
const CLOSE_GRACE_MS = 100;

const ENDED_BY: Record<EndedReason, LiveEndedBy> = {
  hangup: "sideband",
  max_duration: "expiry",
  idle: "peer",
  peer_closed: "peer",
  peer_gone: "peer",
  vanished: "peer",
  standin_closed: "standin",
  reset: "standin",
};

/** A Live session; create it with {@link LiveCall.answer}. */
export class LiveCall extends MediaCall {
  private readonly options: LiveCallOptions;
  private readonly dialogue: LiveDialogue;
  private readonly sidebands = new Set<WebSocket>();
  private sidebandsAttached = 0;
  private readonly sidebandEventsReceived: string[] = [];
  private usageSeconds = 0;
  private endedBy: LiveEndedBy | null = null;
  private readonly usageTimer: NodeJS.Timeout;

  private constructor(options: LiveCallOptions, dialogue: LiveDialogue) {
    const elapsed = () => (options.now ?? Date.now)() - options.nowMs;
    // The media calls its dialogue only once the peer is up, long after construction.
    const wiring: { call?: LiveCall } = {};
    const run = (outs: LiveOut[]) => wiring.call?.route(outs, "data_channel") ?? [];
    super(options, {
      start: () => run(dialogue.start()),
      receive: (data) => {
        const { type, out } = dialogue.command(data, "data_channel", elapsed());
        if (type === "session.close" && dialogue.closed && wiring.call)
          wiring.call.endedBy ??= "page";
        return { type, effects: run(out) };
      },
      micPacket: (bytes) => run(dialogue.micPacket(bytes, elapsed())),
      audioProgress: (id, sentMs) => run(dialogue.audioProgress(id, sentMs, elapsed())),
      audioFinished: (id) => run(dialogue.audioFinished(id, elapsed())),
    });
    wiring.call = this;
    this.options = options;
    this.dialogue = dialogue;
    this.usageTimer = setInterval(
      () => this.execute(this.route(dialogue.usage(this.elapsed()), "data_channel")),
      options.usageIntervalMs,
    );
  }

  /**
   * Answers the offer of `POST /v1/live/sessions`. The session's `expires_at` is the answer
   * time plus `maxCallSeconds`.
   */
  static answer(
    offerSdp: string,
    options: LiveCallOptions,
  ): Promise<{ call: LiveCall; answerSdp: string }> {
    return MediaCall.answerWith(offerSdp, () => {
      const session = resolveLiveSession(options.config, {
        id: options.id,
        expiresAt: Math.floor(options.nowMs / 1000) + options.maxCallSeconds,
      });
      const dialogue = new LiveDialogue({
        session,
        newId: options.newId,
        responseAudioMs: options.responseAudioMs,
      });
      return new LiveCall(options, dialogue);
    });
  }

  private elapsed(): number {
    return (this.options.now ?? Date.now)() - this.options.nowMs;
  }

  /** A sideband WebSocket attached (`/v1/live/sessions/{id}/attach`): trusted, no allowlist. */
  attach(socket: WebSocket): void {
    if (this.ended || this.dialogue.closed) {
      socket.close(1000, "session closed");
      return;
    }
    this.sidebands.add(socket);
    this.sidebandsAttached += 1;
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      if (this.ended) return;
      const { type, out } = this.dialogue.command(
        isBinary ? data : data.toString("utf8"),
        "sideband",
        this.elapsed(),
      );
      this.sidebandEventsReceived.push(type);
      if (type === "session.close" && this.dialogue.closed && !this.endedBy)
        this.endedBy = "sideband";
      this.execute(this.route(out, socket));
    });
    socket.on("close", () => this.sidebands.delete(socket));
    socket.on("error", () => this.sidebands.delete(socket));
  }

  /**
   * Carries out the dialogue's output: events to every sideband and, as the allowlist says,
   * to the data channel (returned as effects); replies only to where the command came from.
   */
  private route(outs: LiveOut[], origin: CommandSource | WebSocket): MediaEffect[] {
    const effects: MediaEffect[] = [];
    const toPage = (event: ServerEvent) => {
      if (this.dialogue.allowsOnDataChannel(event)) effects.push({ kind: "send", event });
    };
    for (const out of outs) {
      switch (out.kind) {
        case "emit":
          this.record(out.event);
          for (const socket of this.sidebands) this.sendTo(socket, out.event);
          toPage(out.event);
          break;
        case "reply":
          if (origin === "data_channel") toPage(out.event);
          else if (origin !== "sideband") this.sendTo(origin, out.event);
          break;
        case "media":
          effects.push(out.effect);
          break;
        case "close":
          this.options.log(`live ${this.id}: session.closed (${out.reason})`);
          // The page gets session.closed before its peer closes.
          setTimeout(() => void this.end("hangup"), CLOSE_GRACE_MS).unref();
          break;
      }
    }
    return effects;
  }

  private record(event: ServerEvent): void {
    if (event.type === "session.usage.updated" || event.type === "session.closed")
      this.usageSeconds = event.usage.seconds;
  }

  private sendTo(socket: WebSocket, event: ServerEvent): void {
    if (socket.readyState !== socket.OPEN) return;
    socket.send(JSON.stringify(event));
  }

  protected override farewell(reason: EndedReason): MediaEffect[] {
    const closeReason: LiveCloseReason | null =
      reason === "max_duration"
        ? "expired"
        : reason === "peer_closed"
          ? "remote_hangup"
          : reason === "peer_gone" || reason === "idle"
            ? "connection_lost"
            : null;
    if (!closeReason) return [];
    this.endedBy ??= ENDED_BY[reason];
    const effects = this.route(this.dialogue.close(closeReason, this.elapsed()), "data_channel");
    // The page is gone unless the session expired: only the sidebands hear of it.
    return reason === "max_duration" ? effects : [];
  }

  protected override afterEnd(): void {
    clearInterval(this.usageTimer);
    const reason = this.mediaSnapshot().endedReason ?? "standin_closed";
    this.endedBy ??= ENDED_BY[reason];
    // A vanished upstream says nothing, to its sidebands either.
    for (const socket of this.sidebands)
      if (reason === "vanished") socket.terminate();
      else socket.close(1000, "session closed");
    this.sidebands.clear();
    this.options.onEnded?.(this);
  }

  snapshot(): LiveSessionSnapshot {
    const session = this.dialogue.currentSession;
    return {
      ...this.mediaSnapshot(),
      config: structuredClone(this.options.config),
      session: structuredClone(session),
      allowedClientEvents: structuredClone(
        session.client?.data_channel.allowed_client_events ?? "all",
      ),
      allowedServerEvents: structuredClone(
        session.client?.data_channel.allowed_server_events ?? "all",
      ),
      refusedEvents: this.dialogue.refused,
      appended: this.dialogue.appended,
      muted: this.dialogue.isMuted,
      sidebandsAttached: this.sidebandsAttached,
      sidebandEventsReceived: [...this.sidebandEventsReceived],
      usageSeconds: this.usageSeconds,
      closeReason: this.dialogue.closed,
      endedBy: this.endedBy,
    };
  }
}
