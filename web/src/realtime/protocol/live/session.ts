import { DEFAULT_DEADLINES, closedBeforeOpen, type ConnectDeadlines } from "../../call";
import { asConnectError, runConnect } from "../../connect";
import { ConversationLog, EMPTY_USAGE } from "../../conversation";
import { Emitter, type Listener } from "../../emitter";
import { messageOf } from "../../errors";
import type { SdpExchange } from "../../exchange";
import { IceWatch, LinkWatch } from "../../liveness";
import { Microphone, resolveMuteStrategy, type MicrophoneSource } from "../../microphone";
import type { PreparedCall } from "../../prepare";
import { RemoteAudio } from "../../remoteAudio";
import type { EventTransport } from "../../transport/transport";
import { WebRtcTransport, audioBytes, type AudioBytes } from "../../transport/webrtc";
import type {
  AudioSinkLike,
  Clock,
  CloseReason,
  ConnectTimings,
  ConversationEntry,
  LinkState,
  MediaStreamLike,
  MicState,
  MuteStrategy,
  PeerConnectionLike,
  RealtimeSessionState,
  SessionProblem,
  SpeakingState,
  UsageTotals,
} from "../../types";
import type { LiveServerEvent, LiveSessionHead } from "./parse";
import { LiveProtocol, type LiveClientEvent } from "./protocol";

/** Options of {@link LiveSession}. Everything that touches the world is injectable. */
export interface LiveSessionOptions extends MicrophoneSource {
  /** Posts the offer: a backend that opens the Live session with its own key (Live has no client keys). */
  exchange: SdpExchange;
  /** Plays the assistant. Without one, listen to `remote-stream` and route it yourself. */
  audioElement?: AudioSinkLike;
  createPeerConnection?: () => PeerConnectionLike;
  clock?: Clock;
  /** A peer connection with its offer made before `connect()`; see `RealtimeSessionBaseOptions`. */
  preparedCall?: () => PreparedCall | null;
  /** Defaults to `auto`. */
  muteStrategy?: MuteStrategy;
  isAndroid?: boolean;
  deadlines?: Partial<ConnectDeadlines>;
  /** Nothing received from the server for this long marks the link stalled. Default 3000 ms. */
  stallMs?: number;
  /** Nothing received for this long ends the session as `unresponsive`. Default 8000 ms. */
  silentMs?: number;
}

/** Events of {@link LiveSession}, with their payloads. */
export interface LiveSessionEventMap {
  state: RealtimeSessionState;
  /** Every server event the protocol acts on, checked against its schema. */
  server: LiveServerEvent;
  /** Every client event, when it is written to the channel. */
  sent: LiveClientEvent;
  conversation: readonly ConversationEntry[];
  /** Live reports no speech events to the page: both stay false. */
  speaking: SpeakingState;
  mic: MicState;
  /** `session.started`: the session's id and model. */
  started: LiveSessionHead;
  /** Cumulative billed seconds of this session. */
  "usage-seconds": number;
  /** An `info` notice from the server. */
  info: { code: string; message: string };
  timings: ConnectTimings;
  link: LinkState;
  problem: SessionProblem;
  "local-stream": MediaStreamLike;
  "remote-stream": MediaStreamLike;
}

type Phase =
  | { name: "idle"; queue: LiveClientEvent[] }
  | { name: "opening"; attempt: Attempt; queue: LiveClientEvent[] }
  | { name: "connecting"; attempt: Attempt; transport: EventTransport; queue: LiveClientEvent[] }
  | { name: "connected"; transport: EventTransport }
  | { name: "closed"; reason: CloseReason };

interface Attempt {
  abort: AbortController;
  markOpened: () => void;
}

/**
 * One GPT-Live conversation over WebRTC: the same connect steps, transport, microphone,
 * remote audio and liveness watches as `RealtimeSession`, speaking Live's vocabulary
 * (`protocol.ts`). The server fixed the session before it started and lets the page send only
 * mute and unmute, so there are no tools, no typed text, no session updates and no interrupt
 * (Live has no client event that stops the assistant: speaking over it is how a user cuts in).
 * A session is used once; create a new one to reconnect.
 */
export class LiveSession {
  /** The voice API this session speaks. */
  readonly api = "live";
  readonly #options: LiveSessionOptions;
  readonly #clock: Clock;
  readonly #deadlines: ConnectDeadlines;
  readonly #events = new Emitter<LiveSessionEventMap>();
  readonly #log: ConversationLog;
  readonly #protocol: LiveProtocol;
  readonly #microphone: Microphone;
  readonly #audio: RemoteAudio;
  readonly #ice: IceWatch;
  readonly #link: LinkWatch;

  #phase: Phase = { name: "idle", queue: [] };
  #timings: ConnectTimings = {};
  #connectStartedAt = 0;
  #linkState: LinkState = { stalled: false };
  #started: LiveSessionHead | null = null;
  /** Live sessions start unmuted; what the page last told the server. */
  #serverMuted = false;
  #pushToTalkOpen = true;

  constructor(options: LiveSessionOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#deadlines = { ...DEFAULT_DEADLINES, ...options.deadlines };
    this.#log = new ConversationLog((entries) => this.#events.emit("conversation", entries));
    this.#protocol = new LiveProtocol({
      log: this.#log,
      mark: (step) => this.#mark(step),
      started: (session) => {
        this.#started = session;
        this.#events.emit("started", session);
      },
      usageSeconds: (seconds) => this.#events.emit("usage-seconds", seconds),
      lost: (reason) => this.#lost(reason),
      problem: (problem) => this.#events.emit("problem", problem),
      info: (code, message) => this.#events.emit("info", { code, message }),
      server: (event) => this.#events.emit("server", event),
    });
    this.#microphone = new Microphone({
      strategy: resolveMuteStrategy(options.muteStrategy ?? "auto", options.isAndroid),
      onChange: (mic) => this.#events.emit("mic", mic),
      onProblem: (message) =>
        this.#events.emit("problem", { source: "protocol", message, raw: null }),
    });
    this.#audio = new RemoteAudio(options.audioElement, {
      onStream: (stream) => this.#events.emit("remote-stream", stream),
      onBlocked: (message) => this.#events.emit("problem", { source: "audio", message }),
    });
    this.#ice = new IceWatch({
      onLost: (reason) => this.#lost(reason),
      onConnected: () => this.#mark("iceConnected"),
    });
    this.#link = new LinkWatch(this.#clock, {
      stallMs: options.stallMs ?? 3_000,
      silentMs: options.silentMs ?? 8_000,
      onStalled: (stalled) => {
        this.#linkState = { stalled };
        this.#events.emit("link", this.link);
      },
      onLost: (reason) => this.#lost(reason),
    });
  }

  get state(): RealtimeSessionState {
    return stateOf(this.#phase);
  }

  /** The call id the exchange returned (the Live session's id), once known. */
  get callId(): string | null {
    return this.#transport()?.callId ?? null;
  }

  /** What `session.started` said (id, model), or null before it. */
  get started(): LiveSessionHead | null {
    return this.#started;
  }

  /** Cumulative billed seconds the server reported so far. */
  get usageSeconds(): number {
    return this.#protocol.usageSeconds;
  }

  get link(): LinkState {
    return { ...this.#linkState };
  }

  get conversation(): readonly ConversationEntry[] {
    return this.#log.entries;
  }

  /** Token counts: a client-delegated Live session reports none to the page (it bills by the second). */
  get usage(): UsageTotals {
    return { ...EMPTY_USAGE };
  }

  get speaking(): SpeakingState {
    return { user: false, assistant: false };
  }

  get mic(): MicState {
    return this.#microphone.state;
  }

  get timings(): ConnectTimings {
    return { ...this.#timings };
  }

  get localStream(): MediaStreamLike | null {
    return this.#microphone.stream;
  }

  on<K extends keyof LiveSessionEventMap>(
    type: K,
    listener: Listener<LiveSessionEventMap[K]>,
  ): () => void {
    return this.#events.on(type, listener);
  }

  /**
   * Opens the call; resolves once the event channel is open. On failure the session is
   * `closed` and the promise rejects with a `RealtimeConnectError` (see `RealtimeSession`).
   */
  async connect(): Promise<void> {
    const idle = this.#phase;
    if (idle.name !== "idle") {
      throw new Error(`connect() needs an idle session; this one is ${this.state.status}.`);
    }
    let markOpened!: () => void;
    const opened = new Promise<void>((resolve) => (markOpened = resolve));
    this.#connectStartedAt = this.#clock.now();
    const attempt: Attempt = { abort: new AbortController(), markOpened };
    const { signal } = attempt.abort;
    this.#phase = { name: "opening", attempt, queue: idle.queue };
    this.#emitState();
    try {
      const transport = await runConnect({
        source: this.#options,
        preparedCall: this.#options.preparedCall,
        exchange: this.#options.exchange,
        microphone: this.#microphone,
        clock: this.#clock,
        deadlines: this.#deadlines,
        signal,
        opened,
        mark: (step) => this.#mark(step),
        openTransport: (prepared) => this.#openTransport(attempt, prepared),
        onLocalStream: (stream) => this.#events.emit("local-stream", stream),
      });
      this.#phase = { name: "connected", transport };
      this.#link.start(transport.peer);
      this.#emitState();
    } catch (error) {
      const connectError = asConnectError(error, "channel", "connection");
      if (!signal.aborted) this.#close({ kind: "connect-failed", error: connectError });
      throw connectError;
    }
  }

  /**
   * Mutes or unmutes: the microphone's track sends silence (nothing of the user leaves the
   * device) and the server is told with Live's own event, so the model knows the user is
   * muted. Muted time is still billed as active time.
   */
  setMuted(muted: boolean): void {
    if (this.#phase.name === "closed") return;
    this.#microphone.setMuted(muted);
    this.#syncServerMute();
  }

  /** Live has no client event that stops the assistant: always false (nothing was sent). */
  interrupt(): boolean {
    return false;
  }

  /** A client-delegated Live session takes no typed text from the page: always false. */
  sendText(_text: string): boolean {
    return false;
  }

  /**
   * Push-to-talk's microphone gate. Live has no buffer to commit: its own turn taking ends the
   * turn, so between holds the input is muted with Live's events as well as taken off the
   * sender, and a hold unmutes it (unless the user muted).
   */
  setPushToTalkOpen(open: boolean): void {
    if (this.#phase.name === "closed") return;
    this.#pushToTalkOpen = open;
    this.#microphone.setPushToTalkOpen(open);
    this.#syncServerMute();
  }

  async getStats(): Promise<AudioBytes> {
    const pending = this.#transport()?.getStats();
    return audioBytes(pending ? await pending : new Map());
  }

  /** Ends the session (see `RealtimeSession.dispose`). Safe to call again. */
  dispose(): void {
    this.#close({ kind: "client" });
  }

  /** The server hears the input only while the user is unmuted and any push-to-talk is held. */
  #syncServerMute(): void {
    const muted = this.#microphone.state.muted || !this.#pushToTalkOpen;
    if (muted === this.#serverMuted) return;
    this.#serverMuted = muted;
    this.#send({ type: muted ? "session.input_audio.mute" : "session.input_audio.unmute" });
  }

  #send(event: LiveClientEvent): void {
    const phase = this.#phase;
    if (phase.name === "closed") return;
    if ("transport" in phase && phase.transport.isOpen) this.#write(phase.transport, event);
    else if ("queue" in phase) phase.queue.push(event);
  }

  #openTransport(attempt: Attempt, prepared: PreparedCall | null): WebRtcTransport {
    const createPeerConnection: () => PeerConnectionLike =
      this.#options.createPeerConnection ?? (() => new RTCPeerConnection());
    const transport = new WebRtcTransport({
      prepared,
      createPeerConnection,
      onOpen: () => this.#onOpen(),
      onClose: () => this.#lost({ kind: "channel-closed" }),
      onMessage: (data) => this.#protocol.receive(data),
      onRemoteStream: (stream) => this.#audio.play(stream),
    });
    this.#ice.watch(transport.peer);
    const phase = this.#phase;
    const queue = phase.name === "opening" ? phase.queue : [];
    this.#phase = { name: "connecting", attempt, transport, queue };
    return transport;
  }

  #transport(): EventTransport | null {
    const phase = this.#phase;
    return "transport" in phase ? phase.transport : null;
  }

  #onOpen(): void {
    const phase = this.#phase;
    if (phase.name !== "connecting") return;
    this.#mark("channelOpen");
    for (const event of phase.queue.splice(0)) this.#write(phase.transport, event);
    phase.attempt.markOpened();
  }

  #write(transport: EventTransport, event: LiveClientEvent): void {
    try {
      transport.send(JSON.stringify(event));
    } catch (error) {
      this.#events.emit("problem", {
        source: "protocol",
        message: `Could not send ${event.type}: ${messageOf(error)}`,
        raw: event,
      });
      return;
    }
    this.#events.emit("sent", event);
  }

  #emitState(): void {
    this.#events.emit("state", this.state);
  }

  #mark(step: keyof ConnectTimings): void {
    if (this.#timings[step] !== undefined || this.#phase.name === "idle") return;
    this.#timings = {
      ...this.#timings,
      [step]: Math.round(this.#clock.now() - this.#connectStartedAt),
    };
    this.#events.emit("timings", this.timings);
  }

  #lost(reason: CloseReason): void {
    if (this.#phase.name === "connecting" || this.#phase.name === "connected") this.#close(reason);
  }

  #close(reason: CloseReason): void {
    const phase = this.#phase;
    if (phase.name === "closed") return;
    this.#phase = { name: "closed", reason };
    this.#link.stop();
    if ("attempt" in phase) phase.attempt.abort.abort(closedBeforeOpen(reason));
    if ("transport" in phase) phase.transport.close();
    this.#microphone.release();
    this.#audio.release();
    this.#protocol.close();
    this.#microphone.reportOffline();
    if (this.#linkState.stalled) {
      this.#linkState = { stalled: false };
      this.#events.emit("link", this.link);
    }
    this.#emitState();
  }
}

const systemClock: Clock = {
  now: () => globalThis.performance.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) =>
    globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
};

function stateOf(phase: Phase): RealtimeSessionState {
  switch (phase.name) {
    case "idle":
      return { status: "idle" };
    case "opening":
    case "connecting":
      return { status: "connecting" };
    case "connected":
      return { status: "connected", callId: phase.transport.callId };
    case "closed":
      return { status: "closed", reason: phase.reason };
  }
}
