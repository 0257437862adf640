import type { RealtimeClientEvent } from "openai/resources/realtime/realtime";
import { DEFAULT_DEADLINES, closedBeforeOpen, type ConnectDeadlines } from "./call";
import { asConnectError, runConnect } from "./connect";
import { ConversationLog } from "./conversation";
import { Emitter, type Listener } from "./emitter";
import { messageOf } from "./errors";
import { secretExchange, type SdpExchange, type SecretExchangeOptions } from "./exchange";
import { IceWatch, LinkWatch } from "./liveness";
import { Microphone, resolveMuteStrategy, type MicrophoneSource } from "./microphone";
import { ResponseTracker } from "./playback";
import type { PreparedCall } from "./prepare";
import type { OpenAIServerEvent, OpenAIServerEventType } from "./protocol/openai/parse";
import { OpenAIRealtimeProtocol } from "./protocol/openai/protocol";
import { RemoteAudio } from "./remoteAudio";
import { ToolRunner } from "./tools";
import type { EventTransport } from "./transport/transport";
import { WebRtcTransport, audioBytes, type AudioBytes } from "./transport/webrtc";
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
  RealtimeTool,
  SessionProblem,
  SessionUpdate,
  SpeakingState,
  UsageTotals,
} from "./types";

/** Options of {@link RealtimeSession} that do not depend on how the offer is exchanged. */
export interface RealtimeSessionBaseOptions extends MicrophoneSource {
  /** Plays the assistant. Without one, listen to `remote-stream` and route it yourself. */
  audioElement?: AudioSinkLike;
  createPeerConnection?: () => PeerConnectionLike;
  clock?: Clock;
  /** Tools the model may call; sent with `session.update` as soon as the channel opens. */
  tools?: RealtimeTool[];
  /**
   * A peer connection with its offer made before `connect()` (see `CallPreparer`), or null to
   * build one in `connect()`. Called once per `connect()`; the session owns what it returns.
   */
  preparedCall?: () => PreparedCall | null;
  /** Extra session fields sent with that first `session.update`. */
  session?: SessionUpdate;
  /** Defaults to `auto`. */
  muteStrategy?: MuteStrategy;
  /** Decides what `auto` means; defaults to sniffing `navigator.userAgent`. */
  isAndroid?: boolean;
  /** How long each step of `connect()` may take; see {@link DEFAULT_DEADLINES}. */
  deadlines?: Partial<ConnectDeadlines>;
  /** Nothing received from the server for this long marks the link stalled. Default 3000 ms. */
  stallMs?: number;
  /** Nothing received for this long ends the session as `unresponsive`. Default 8000 ms. */
  silentMs?: number;
}

/**
 * Options of {@link RealtimeSession}. Everything that touches the world is injectable. The
 * offer goes through `exchange`; without one, the browser posts it itself with a secret from
 * `getToken` ({@link secretExchange}, whose options are accepted here).
 */
export type RealtimeSessionOptions = RealtimeSessionBaseOptions &
  ({ exchange: SdpExchange } | ({ exchange?: undefined } & SecretExchangeOptions));

/** Events of {@link RealtimeSession}, with their payloads. */
export interface RealtimeSessionEventMap {
  state: RealtimeSessionState;
  /**
   * Every server event the protocol acts on, checked against its schema (the fields it
   * reads, typed as the `openai` package types them). Events of other types are not emitted.
   */
  server: OpenAIServerEvent;
  /** Every client event, when it is written to the channel. */
  sent: RealtimeClientEvent;
  conversation: readonly ConversationEntry[];
  speaking: SpeakingState;
  mic: MicState;
  usage: UsageTotals;
  timings: ConnectTimings;
  /** The link went quiet (`stalled`) or came back; see {@link LinkState}. */
  link: LinkState;
  problem: SessionProblem;
  /** The microphone stream, once acquired (for level meters). */
  "local-stream": MediaStreamLike;
  /** The assistant's audio stream, once it arrives. */
  "remote-stream": MediaStreamLike;
}

/**
 * What exists in each phase of the session's life; nothing outlives its phase. Client events
 * sent before the channel opens wait in the phase's queue.
 */
type Phase =
  | { name: "idle"; queue: RealtimeClientEvent[] }
  /** `connect()` has asked for the microphone and the secret; no peer connection yet. */
  | { name: "opening"; attempt: Attempt; queue: RealtimeClientEvent[] }
  | {
      name: "connecting";
      attempt: Attempt;
      transport: EventTransport;
      queue: RealtimeClientEvent[];
    }
  | { name: "connected"; transport: EventTransport }
  | { name: "closed"; reason: CloseReason };

/** One `connect()`: aborting it rejects every step still running (and clears its timer). */
interface Attempt {
  abort: AbortController;
  /** Settles the promise `connect()` waits on for the event channel. */
  markOpened: () => void;
}

/**
 * One voice conversation with an OpenAI Realtime model over WebRTC.
 *
 * Framework-agnostic: it touches no DOM beyond the audio element it is given, and every
 * browser API it uses is injectable, the SDP exchange included. A session is used once;
 * create a new one to reconnect.
 *
 * The session composes the parts: `connect()` runs its steps (`connect.ts`) and adopts the
 * transport (`transport/webrtc.ts`: the peer connection and the event channel); the protocol
 * (`protocol/openai/`) checks each server event and routes it to the unit that keeps its
 * state: the conversation log (`conversation.ts`), the tool runner (`tools.ts`), the response
 * and playback tracker behind `interrupt()` (`playback.ts`); the microphone
 * (`microphone.ts`), the assistant's audio (`remoteAudio.ts`) and the ICE and link watches
 * (`liveness.ts`) hang off the transport.
 *
 * @example
 * ```ts
 * const session = new RealtimeSession({ getToken: () => tokens.get().then((t) => t.token), audioElement });
 * session.on("conversation", render);
 * await session.connect();
 * session.sendText("Hello!");
 * session.dispose();
 * ```
 */
export class RealtimeSession {
  readonly #options: RealtimeSessionOptions;
  readonly #clock: Clock;
  readonly #exchange: SdpExchange;
  readonly #deadlines: ConnectDeadlines;
  readonly #events = new Emitter<RealtimeSessionEventMap>();
  readonly #log: ConversationLog;
  readonly #tools: ToolRunner;
  readonly #responses: ResponseTracker;
  readonly #protocol: OpenAIRealtimeProtocol;
  readonly #microphone: Microphone;
  readonly #audio: RemoteAudio;
  readonly #ice: IceWatch;
  readonly #link: LinkWatch;

  #phase: Phase = { name: "idle", queue: [] };
  #timings: ConnectTimings = {};
  /** When `connect()` was called, on the session's clock; timings are relative to it. */
  #connectStartedAt = 0;
  #speaking: SpeakingState = { user: false, assistant: false };
  #linkState: LinkState = { stalled: false };

  constructor(options: RealtimeSessionOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#exchange = options.exchange ?? secretExchange(options);
    this.#deadlines = { ...DEFAULT_DEADLINES, ...options.deadlines };
    // Truncations are bounded by the audio the receiver actually played out (playback.ts).
    this.#responses = new ResponseTracker({
      clock: this.#clock,
      stats: () => this.#transport()?.getStats(),
    });
    this.#log = new ConversationLog((entries) => this.#events.emit("conversation", entries));
    this.#tools = new ToolRunner({
      tools: options.tools ?? [],
      log: this.#log,
      send: (event) => this.send(event),
      isClosed: () => this.#phase.name === "closed",
    });
    this.#protocol = this.#openAIProtocol();
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

  /** The current lifecycle state. */
  get state(): RealtimeSessionState {
    return stateOf(this.#phase);
  }

  /** The call id from the `Location` of the SDP answer (`rtc_…`), once known. */
  get callId(): string | null {
    return this.#transport()?.callId ?? null;
  }

  /** Whether anything is arriving from the server (see {@link LinkState}). */
  get link(): LinkState {
    return { ...this.#linkState };
  }

  /** The conversation so far, oldest first. */
  get conversation(): readonly ConversationEntry[] {
    return this.#log.entries;
  }

  /** Token usage summed over every completed response. */
  get usage(): UsageTotals {
    return this.#protocol.usage;
  }

  get speaking(): SpeakingState {
    return { ...this.#speaking };
  }

  get mic(): MicState {
    return this.#microphone.state;
  }

  /** When each connect step finished, in ms after `connect()` was called. */
  get timings(): ConnectTimings {
    return { ...this.#timings };
  }

  /** The microphone stream in use, once acquired. */
  get localStream(): MediaStreamLike | null {
    return this.#microphone.stream;
  }

  /** `auto` resolved for this platform. */
  get muteStrategy(): Exclude<MuteStrategy, "auto"> {
    return this.#microphone.strategy;
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof RealtimeSessionEventMap>(
    type: K,
    listener: Listener<RealtimeSessionEventMap[K]>,
  ): () => void {
    return this.#events.on(type, listener);
  }

  /** Subscribes to one server event type, with the payload narrowed to it. */
  onServerEvent<T extends OpenAIServerEventType>(
    type: T,
    listener: Listener<Extract<OpenAIServerEvent, { type: T }>>,
  ): () => void {
    return this.#events.on("server", (event) => {
      if (isOfType(event, type)) listener(event);
    });
  }

  /**
   * Opens the call (the steps and their deadlines: `connect.ts`); the promise resolves once
   * the event channel is open. On failure the session is `closed` and the promise rejects
   * with a {@link RealtimeConnectError} whose `stage` says which step failed and `failure`
   * what went wrong.
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
        exchange: this.#exchange,
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
      // Closing aborts the attempt: not aborted means nothing has closed the session yet.
      if (!signal.aborted) {
        this.#close({ kind: "connect-failed", error: connectError });
      }
      throw connectError;
    }
  }

  /**
   * Sends a client event. Before the channel opens events are queued and sent in order
   * once it does. Returns false when the session is closed and the event was dropped.
   */
  send(event: RealtimeClientEvent): boolean {
    const phase = this.#phase;
    if (phase.name === "closed") return false;
    this.#protocol.sending(event);
    if ("transport" in phase && phase.transport.isOpen) {
      this.#write(phase.transport, event);
    } else if ("queue" in phase) {
      phase.queue.push(event);
    }
    return true;
  }

  /**
   * Adds a typed user message and asks for a response. A response already playing is
   * interrupted first: typing is a barge-in, and the API refuses a second active response.
   */
  sendText(text: string): boolean {
    const trimmed = text.trim();
    if (trimmed === "" || this.#phase.name === "closed") return false;
    this.interrupt();
    for (const event of this.#protocol.typed(trimmed)) this.send(event);
    return true;
  }

  /** Sends `session.update` with these fields (`type: "realtime"` is added). */
  updateSession(session: SessionUpdate): boolean {
    return this.send({ type: "session.update", session: { type: "realtime", ...session } });
  }

  /**
   * Registers a tool; returns the function that removes it. Once connected, the new tool
   * list is sent to the server at once.
   */
  registerTool(tool: RealtimeTool): () => void {
    const remove = this.#tools.register(tool);
    if (this.#phase.name === "connected") this.send(this.#protocol.toolsUpdate());
    return () => {
      if (remove() && this.#phase.name === "connected") this.send(this.#protocol.toolsUpdate());
    };
  }

  /**
   * Stops the assistant: cancels the response in flight (only if there is one), clears the
   * server's output audio buffer, and truncates the playing item to the milliseconds that
   * actually played, so the model's memory matches what the user heard. Returns false when
   * there was nothing to interrupt.
   */
  interrupt(): boolean {
    if (this.#phase.name !== "connected") return false;
    return this.#protocol.interrupt((event) => this.send(event));
  }

  /** Mutes or unmutes the microphone (the track keeps running; silence is sent). */
  setMuted(muted: boolean): void {
    this.#microphone.setMuted(muted);
  }

  /**
   * Push-to-talk's microphone gate (`PushToTalk`'s `setMicOpen`): closed, the microphone's
   * track is off the sender and nothing at all is sent; open, it is sent unless muted.
   * Sessions without push-to-talk never close it.
   */
  setPushToTalkOpen(open: boolean): void {
    this.#microphone.setPushToTalkOpen(open);
  }

  /** Bytes of audio received and sent so far, from the peer connection's statistics. */
  async getStats(): Promise<AudioBytes> {
    const pending = this.#transport()?.getStats();
    return audioBytes(pending ? await pending : new Map());
  }

  /**
   * Ends the session: closes the call, stops the microphone tracks the session acquired
   * (never a stream it was given) and detaches the audio element. Safe to call again.
   */
  dispose(): void {
    this.#close({ kind: "client" });
  }

  // ---- composition ---------------------------------------------------------------------

  #openAIProtocol(): OpenAIRealtimeProtocol {
    return new OpenAIRealtimeProtocol({
      log: this.#log,
      tools: this.#tools,
      responses: this.#responses,
      clock: this.#clock,
      session: this.#options.session,
      setSpeaking: (change) => this.#setSpeaking(change),
      mark: (step) => this.#mark(step),
      lost: (reason) => this.#lost(reason),
      problem: (problem) => this.#events.emit("problem", problem),
      server: (event) => this.#events.emit("server", event),
      usage: (totals) => this.#events.emit("usage", totals),
    });
  }

  /** Builds the call's transport; the session is `connecting` from now on. */
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

  // ---- channel -------------------------------------------------------------------------

  #onOpen(): void {
    const phase = this.#phase;
    if (phase.name !== "connecting") return;
    this.#mark("channelOpen");
    const opening = this.#protocol.opening();
    if (opening) this.#write(phase.transport, opening);
    for (const event of phase.queue.splice(0)) this.#write(phase.transport, event);
    phase.attempt.markOpened();
  }

  #write(transport: EventTransport, event: RealtimeClientEvent): void {
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

  // ---- lifecycle -----------------------------------------------------------------------

  #setSpeaking(change: Partial<SpeakingState>): void {
    const next = { ...this.#speaking, ...change };
    if (next.user === this.#speaking.user && next.assistant === this.#speaking.assistant) return;
    this.#speaking = next;
    this.#events.emit("speaking", this.speaking);
    if (change.assistant !== undefined) this.#microphone.setAssistantSpeaking(next.assistant);
  }

  #emitState(): void {
    this.#events.emit("state", this.state);
  }

  #mark(step: keyof ConnectTimings): void {
    // session.created usually arrives once connected: timings run from connect() on.
    if (this.#timings[step] !== undefined || this.#phase.name === "idle") return;
    this.#timings = {
      ...this.#timings,
      [step]: Math.round(this.#clock.now() - this.#connectStartedAt),
    };
    this.#events.emit("timings", this.timings);
  }

  /** A loss only counts while there is a call to lose. */
  #lost(reason: CloseReason): void {
    if (this.#phase.name === "connecting" || this.#phase.name === "connected") {
      this.#close(reason);
    }
  }

  #close(reason: CloseReason): void {
    const phase = this.#phase;
    if (phase.name === "closed") return;
    // First, so that everything below (and every listener it calls) sees the session closed.
    this.#phase = { name: "closed", reason };
    this.#link.stop();
    // Rejects every connect step still running, clearing its deadline.
    if ("attempt" in phase) phase.attempt.abort.abort(closedBeforeOpen(reason));
    if ("transport" in phase) phase.transport.close();
    this.#microphone.release();
    this.#audio.release();
    this.#protocol.close();
    this.#setSpeaking({ user: false, assistant: false });
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

function isOfType<T extends OpenAIServerEventType>(
  event: OpenAIServerEvent,
  type: T,
): event is Extract<OpenAIServerEvent, { type: T }> {
  return event.type === type;
}
