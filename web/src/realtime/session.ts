import type {
  ConversationItem,
  RealtimeClientEvent,
  RealtimeServerEvent,
} from "openai/resources/realtime/realtime";
import {
  DEFAULT_DEADLINES,
  EVENTS_CHANNEL,
  closedBeforeOpen,
  createOffer,
  withDeadline,
  type ConnectDeadlines,
} from "./call";
import { ConversationLog, EMPTY_USAGE, addUsage } from "./conversation";
import { Emitter, type Listener } from "./emitter";
import { RealtimeConnectError, isRecord, messageOf } from "./errors";
import { secretExchange, type SdpExchange, type SecretExchangeOptions } from "./exchange";
import { IceWatch, LinkWatch, serverLimitReason } from "./liveness";
import {
  Microphone,
  permissionGranted,
  resolveMuteStrategy,
  type MicrophoneSource,
} from "./microphone";
import { parseResponseDone, parseServerEvent } from "./parse";
import type { PreparedCall } from "./prepare";
import { ResponseTracker, playedMs } from "./playback";
import { ToolRunner } from "./tools";
import type {
  AudioSinkLike,
  Clock,
  CloseReason,
  ConnectTimings,
  ConversationEntry,
  DataChannelLike,
  LinkState,
  MediaStreamLike,
  MicState,
  MuteStrategy,
  PeerConnectionLike,
  RealtimeSessionEventMap,
  RealtimeSessionState,
  RealtimeTool,
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

/** What exists in each phase of the session's life; nothing outlives its phase. */
type Phase =
  | { name: "idle" }
  /** `connect()` has asked for the microphone and the secret; no peer connection yet. */
  | { name: "opening"; attempt: Attempt }
  | {
      name: "connecting";
      attempt: Attempt;
      pc: PeerConnectionLike;
      channel: DataChannelLike;
      callId: string | null;
    }
  | { name: "connected"; pc: PeerConnectionLike; channel: DataChannelLike; callId: string | null }
  | { name: "closed"; reason: CloseReason };

/** One `connect()`: aborting it rejects every step still running (and clears its timer). */
interface Attempt {
  abort: AbortController;
  /** Settles when the event channel opens. */
  opened: Promise<void>;
  markOpened: () => void;
}

/**
 * One voice conversation with an OpenAI Realtime model over WebRTC.
 *
 * Framework-agnostic: it touches no DOM beyond the audio element it is given, and every
 * browser API it uses is injectable, the SDP exchange included. A session is used once;
 * create a new one to reconnect.
 *
 * The session sequences `connect()` (every step under a deadline), owns the peer connection
 * and the event channel, and routes each server event to the part that keeps its state: the
 * conversation log (`conversation.ts`), the tool runner (`tools.ts`), the response and
 * playback tracker behind `interrupt()` (`playback.ts`), the microphone (`microphone.ts`) and
 * the ICE and link watches (`liveness.ts`).
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
  readonly #microphone: Microphone;
  readonly #ice: IceWatch;
  readonly #link: LinkWatch;

  #phase: Phase = { name: "idle" };
  #state: RealtimeSessionState = { status: "idle" };
  #audioAttached = false;
  #queue: RealtimeClientEvent[] = [];
  #timings: ConnectTimings = {};
  /** When `connect()` was called, on the session's clock; timings are relative to it. */
  #connectStartedAt = 0;
  #usage: UsageTotals = { ...EMPTY_USAGE };
  #speaking: SpeakingState = { user: false, assistant: false };
  #linkState: LinkState = { stalled: false };
  /** Ids of items this session created with an id of its own (a replayed conversation). */
  readonly #ownItemIds = new Set<string>();

  constructor(options: RealtimeSessionOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#exchange = options.exchange ?? secretExchange(options);
    this.#deadlines = { ...DEFAULT_DEADLINES, ...options.deadlines };
    // Truncations are bounded by the audio the receiver actually played out (playback.ts).
    this.#responses = new ResponseTracker({
      clock: this.#clock,
      stats: () => {
        const phase = this.#phase;
        return phase.name === "connecting" || phase.name === "connected"
          ? phase.pc.getStats()
          : undefined;
      },
    });
    this.#log = new ConversationLog((entries) => this.#events.emit("conversation", entries));
    this.#tools = new ToolRunner({
      tools: options.tools ?? [],
      log: this.#log,
      send: (event) => this.send(event),
      isClosed: () => this.#phase.name === "closed",
    });
    this.#microphone = new Microphone({
      strategy: resolveMuteStrategy(options.muteStrategy ?? "auto", options.isAndroid),
      onChange: (mic) => this.#events.emit("mic", mic),
      onProblem: (message) =>
        this.#events.emit("problem", { source: "protocol", message, raw: null }),
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
    return this.#state;
  }

  /** The call id from the `Location` of the SDP answer (`rtc_…`), once known. */
  get callId(): string | null {
    const phase = this.#phase;
    return phase.name === "connecting" || phase.name === "connected" ? phase.callId : null;
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
    return { ...this.#usage };
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
  onServerEvent<T extends RealtimeServerEvent["type"]>(
    type: T,
    listener: Listener<Extract<RealtimeServerEvent, { type: T }>>,
  ): () => void {
    return this.#events.on("server", (event) => {
      if (event.type === type) listener(event as Extract<RealtimeServerEvent, { type: T }>);
    });
  }

  /**
   * Opens the call: the microphone, the exchange's `prepare` (the secret) and the SDP offer
   * are prepared in parallel (the first two are asked for before the peer connection is
   * built; a `preparedCall` made before `connect()` brings its offer ready), the offer goes
   * through the exchange once all three are in hand (without waiting for the microphone when
   * it is already allowed: `microphoneGranted`; its track then joins before the answer is
   * applied), and the promise
   * resolves once the event channel is open. Every step runs under its deadline
   * (`deadlines`). On failure the session is `closed` and the promise rejects with a
   * {@link RealtimeConnectError} whose `stage` says which step failed and `failure` what
   * went wrong.
   */
  async connect(): Promise<void> {
    if (this.#phase.name !== "idle") {
      throw new Error(`connect() needs an idle session; this one is ${this.#state.status}.`);
    }
    let markOpened!: () => void;
    const opened = new Promise<void>((resolve) => (markOpened = resolve));
    this.#connectStartedAt = this.#clock.now();
    const attempt: Attempt = {
      abort: new AbortController(),
      opened,
      markOpened,
    };
    const { signal } = attempt.abort;
    const deadlines = this.#deadlines;
    const step = <T>(
      name: keyof ConnectDeadlines,
      work: (signal: AbortSignal) => Promise<T>,
    ): Promise<T> => withDeadline(name, deadlines[name], this.#clock, signal, work);
    this.#phase = { name: "opening", attempt };
    this.#setState({ status: "connecting" });
    // The microphone (a device to open, maybe a permission prompt) and the secret (a round
    // trip to the backend unless cached) are the slow steps and run outside this thread:
    // ask for both first, then build the peer connection and the offer while they run.
    const microphone = step("microphone", () =>
      this.#microphone.acquire(this.#options, () => this.#mark("microphone")),
    );
    // A microphone already allowed opens without a prompt, so the offer need not wait for it.
    const source = this.#options;
    const granted = source.mediaStream
      ? Promise.resolve(false)
      : Promise.resolve()
          .then(() => (source.microphoneGranted ?? permissionGranted)())
          .catch(() => false);
    const prepare = this.#exchange.prepare?.bind(this.#exchange);
    const prepared = step("token", async (stepSignal) => {
      try {
        await prepare?.(stepSignal);
      } catch (error) {
        throw asConnectError(error, "token", "token");
      }
      this.#mark("token");
    });
    // Awaited below; if building the peer connection throws first, these must not surface
    // as unhandled rejections (a microphone that arrives after the close is stopped).
    microphone.catch(() => undefined);
    prepared.catch(() => undefined);
    try {
      // A call prepared before the click is adopted as it is; else one is built here. Either
      // way the transceiver has no track yet: the offer does not need one, so it is ready
      // while the microphone permission prompt is still open.
      const ahead = this.#options.preparedCall?.() ?? null;
      const pc = ahead ? this.#watchPeer(ahead.pc) : this.#createPeerConnection();
      const sender = ahead?.sender ?? pc.addTransceiver("audio", { direction: "sendrecv" }).sender;
      const channel = this.#wireChannel(ahead?.channel ?? pc.createDataChannel(EVENTS_CHANNEL));
      this.#phase = { name: "connecting", attempt, pc, channel, callId: null };
      const offer = ahead
        ? Promise.resolve(ahead.offer).finally(() => this.#mark("offer"))
        : step("offer", async () => {
            const sdp = await createOffer(pc);
            this.#mark("offer");
            return sdp;
          });

      // The offer goes once the microphone is open, or at once when it is allowed already:
      // never while a permission prompt is showing (a brokered call's minutes would run).
      const microphoneClear = Promise.race([
        microphone,
        granted.then((allowed) => (allowed ? null : microphone)),
      ]);
      const [, , offerSdp] = await Promise.all([microphoneClear, prepared, offer]);
      // The transceiver is already sendrecv, so putting the track on it needs no new offer:
      // it runs alongside the SDP exchange instead of before it.
      const sending = microphone.then((stream) => {
        signal.throwIfAborted();
        this.#microphone.attach(stream);
        this.#events.emit("local-stream", stream);
        return this.#microphone.send(sender);
      });
      sending.catch(() => undefined); // awaited below, unless the SDP exchange fails first
      await step("sdp", async (stepSignal) => {
        let result;
        this.#mark("offerSent");
        try {
          result = await this.#exchange.exchangeOffer(offerSdp, stepSignal);
        } catch (error) {
          throw asConnectError(error, "sdp", "rejected");
        }
        // An exchange may finish after the attempt was abandoned: nothing of it is applied then.
        stepSignal.throwIfAborted();
        if (this.#phase.name === "connecting") {
          this.#phase = { ...this.#phase, callId: result.callId };
        }
        this.#mark("sdpAnswer");
        await sending;
        stepSignal.throwIfAborted();
        this.#microphone.goLive();
        try {
          await pc.setRemoteDescription({ type: "answer", sdp: result.answer });
        } catch (error) {
          throw new RealtimeConnectError(
            "sdp",
            "invalid-answer",
            `The SDP answer was rejected: ${messageOf(error)}`,
            { cause: error },
          );
        }
      });
      await step("channel", () => attempt.opened);
      // The channel's open event may have been the moment someone disposed the session.
      if (signal.aborted) throw signal.reason;
      const callId = this.callId;
      this.#phase = { name: "connected", pc, channel, callId };
      this.#link.start(pc);
      this.#setState({ status: "connected", callId });
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
    if (event.type === "conversation.item.create" && event.item.id) {
      this.#ownItemIds.add(event.item.id);
    }
    if ("channel" in phase && phase.channel.readyState === "open") {
      this.#write(phase.channel, event);
    } else {
      this.#queue.push(event);
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
    this.#log.addTyped(trimmed);
    this.send({
      type: "conversation.item.create",
      item: { type: "message", role: "user", content: [{ type: "input_text", text: trimmed }] },
    });
    this.send({ type: "response.create" });
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
    if (this.#state.status === "connected") this.#sendTools();
    return () => {
      if (remove() && this.#state.status === "connected") this.#sendTools();
    };
  }

  /**
   * Stops the assistant: cancels the response in flight (only if there is one), clears the
   * server's output audio buffer, and truncates the playing item to the milliseconds that
   * actually played, so the model's memory matches what the user heard. Returns false when
   * there was nothing to interrupt.
   */
  interrupt(): boolean {
    if (this.#state.status !== "connected") return false;
    const inFlight = this.#responses.inFlight;
    const playback = this.#responses.playback;
    if (!inFlight && !playback) return false;
    if (inFlight) this.send({ type: "response.cancel", event_id: this.#responses.cancelSent() });
    this.send({ type: "output_audio_buffer.clear" });
    if (playback) {
      const played = playedMs(playback, this.#clock.now());
      if (playback.itemId) {
        this.send({
          type: "conversation.item.truncate",
          item_id: playback.itemId,
          content_index: 0,
          audio_end_ms: played,
        });
        this.#log.markInterrupted(playback.itemId);
      }
      this.#responses.audioEnded();
      this.#setSpeaking({ assistant: false });
    }
    return true;
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
  async getStats(): Promise<{ inboundAudioBytes: number; outboundAudioBytes: number }> {
    const totals = { inboundAudioBytes: 0, outboundAudioBytes: 0 };
    const phase = this.#phase;
    if (phase.name !== "connecting" && phase.name !== "connected") return totals;
    const report = await phase.pc.getStats();
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

  /**
   * Ends the session: closes the call, stops the microphone tracks the session acquired
   * (never a stream it was given) and detaches the audio element. Safe to call again.
   */
  dispose(): void {
    this.#close({ kind: "client" });
  }

  // ---- connect steps -------------------------------------------------------------------

  #createPeerConnection(): PeerConnectionLike {
    const factory: () => PeerConnectionLike =
      this.#options.createPeerConnection ?? (() => new RTCPeerConnection());
    return this.#watchPeer(factory());
  }

  #watchPeer(pc: PeerConnectionLike): PeerConnectionLike {
    this.#ice.watch(pc);
    pc.addEventListener("track", (event) => this.#onRemoteStream(event.streams[0]));
    return pc;
  }

  #wireChannel(channel: DataChannelLike): DataChannelLike {
    channel.addEventListener("open", () => this.#onChannelOpen(channel));
    channel.addEventListener("close", () => this.#lost({ kind: "channel-closed" }));
    channel.addEventListener("message", (event) => this.#onMessage(event.data));
    return channel;
  }

  // ---- channel -------------------------------------------------------------------------

  #onChannelOpen(channel: DataChannelLike): void {
    const phase = this.#phase;
    if (phase.name !== "connecting") return;
    this.#mark("channelOpen");
    // The tools go first so that nothing queued can start a response without them.
    if (this.#tools.size > 0 || this.#options.session) {
      this.#write(channel, {
        type: "session.update",
        session: {
          type: "realtime",
          ...this.#options.session,
          ...(this.#tools.size > 0
            ? { tools: this.#tools.definitions(), tool_choice: "auto" }
            : {}),
        },
      });
    }
    const queued = this.#queue;
    this.#queue = [];
    for (const event of queued) this.#write(channel, event);
    phase.attempt.markOpened();
  }

  #sendTools(): void {
    this.send({
      type: "session.update",
      session: { type: "realtime", tools: this.#tools.definitions(), tool_choice: "auto" },
    });
  }

  #write(channel: DataChannelLike, event: RealtimeClientEvent): void {
    try {
      channel.send(JSON.stringify(event));
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

  #onMessage(data: unknown): void {
    if (this.#phase.name === "closed") return;
    const parsed = parseServerEvent(data);
    if (!parsed.ok) {
      this.#events.emit("problem", {
        source: "protocol",
        message: parsed.message,
        raw: parsed.raw,
      });
      return;
    }
    try {
      this.#handle(parsed.event);
    } catch (error) {
      // A malformed known event must not take the session down with it.
      this.#events.emit("problem", {
        source: "protocol",
        message: `Could not handle ${parsed.event.type}: ${messageOf(error)}`,
        raw: parsed.event,
      });
    }
    this.#events.emit("server", parsed.event);
  }

  /** Routes each server event to the part of the session that keeps its state. */
  #handle(event: RealtimeServerEvent): void {
    switch (event.type) {
      case "session.created":
        this.#mark("sessionCreated");
        break;
      case "error": {
        // A cancel that crossed its response's end: expected, not a problem to report.
        if (this.#responses.cancelRaced(event.error)) break;
        const limit = serverLimitReason(event.error);
        if (limit) {
          this.#lost(limit);
        } else {
          this.#events.emit("problem", { source: "server", error: event.error });
        }
        break;
      }
      case "input_audio_buffer.speech_started":
        this.#setSpeaking({ user: true });
        break;
      case "input_audio_buffer.speech_stopped":
      case "input_audio_buffer.timeout_triggered":
        this.#setSpeaking({ user: false });
        break;
      case "conversation.item.added":
        this.#onItemAdded(event.item);
        break;
      case "conversation.item.input_audio_transcription.delta":
        this.#log.appendUserTranscript(event.item_id, event.delta ?? "");
        break;
      case "conversation.item.input_audio_transcription.completed":
        this.#log.finishUserTranscript(event.item_id, event.transcript, "done");
        break;
      case "conversation.item.input_audio_transcription.failed":
        this.#log.finishUserTranscript(event.item_id, null, "failed");
        break;
      case "response.created":
        if (event.response.id) this.#responses.responseCreated(event.response.id);
        break;
      case "response.output_item.added": {
        const { item } = event;
        if (item.type === "message" && item.role === "assistant" && item.id) {
          this.#responses.messageAdded(event.response_id, item.id);
          this.#log.startAssistant(item.id);
        }
        break;
      }
      case "response.output_audio_transcript.delta":
      case "response.output_text.delta":
        this.#log.appendAssistant(event.item_id, event.delta);
        break;
      case "response.output_audio_transcript.done":
        this.#log.finishAssistant(event.item_id, event.transcript);
        break;
      case "response.output_text.done":
        this.#log.finishAssistant(event.item_id, event.text);
        break;
      case "response.function_call_arguments.done":
        this.#tools.run(event.response_id, event.call_id, event.name, event.arguments);
        break;
      case "response.output_item.done":
        if (event.item.type === "function_call") {
          const { call_id, name, arguments: args } = event.item;
          if (call_id && name) this.#tools.run(event.response_id, call_id, name, args ?? "");
        }
        break;
      case "response.done":
        this.#onResponseDone(event);
        break;
      case "output_audio_buffer.started":
        this.#responses.audioStarted(event.response_id, this.#clock.now());
        this.#setSpeaking({ assistant: true });
        break;
      case "output_audio_buffer.stopped":
      case "output_audio_buffer.cleared":
        this.#responses.audioEnded();
        this.#setSpeaking({ assistant: false });
        break;
      case "conversation.item.truncated":
        this.#log.markInterrupted(event.item_id);
        break;
      default:
        break;
    }
  }

  #onItemAdded(item: ConversationItem): void {
    if (item.type !== "message" || item.role !== "user" || !item.id) return;
    // The echo of an item sent with its own id (a replay after a reconnect) is neither a
    // typed message waiting for its id nor a new spoken turn.
    if (this.#ownItemIds.has(item.id)) return;
    const first = item.content[0];
    if (first?.type === "input_text") {
      // The server's copy of a typed message: adopt its id so later events can find it.
      this.#log.adoptTextId(item.id);
    } else if (first?.type === "input_audio") {
      this.#log.startVoice(item.id);
    }
  }

  #onResponseDone(event: Extract<RealtimeServerEvent, { type: "response.done" }>): void {
    const done = parseResponseDone(event.response);
    if (done.id) this.#responses.responseDone(done.id);
    const usage = addUsage(this.#usage, done.usage);
    if (usage) {
      this.#usage = usage;
      this.#events.emit("usage", this.usage);
    }
    if (done.error) this.#events.emit("problem", { source: "server", error: done.error });
    if (!done.id) return;
    // A turn whose transcript never finished (cancelled, cut off) must not stay open.
    const settled = done.status === "completed" ? "done" : "interrupted";
    for (const id of done.messageIds) this.#log.settleAssistant(id, settled);
    // A call seen only here (its argument events lost) still deserves an answer.
    for (const call of done.calls) this.#tools.run(done.id, call.callId, call.name, call.arguments);
    this.#tools.responseDone(done.id, done.status);
  }

  // ---- audio ---------------------------------------------------------------------------

  #onRemoteStream(stream: MediaStreamLike | undefined): void {
    if (!stream || this.#phase.name === "closed") return;
    this.#events.emit("remote-stream", stream);
    const sink = this.#options.audioElement;
    if (!sink) return;
    sink.srcObject = stream;
    this.#audioAttached = true;
    sink.play().catch((error: unknown) => {
      this.#events.emit("problem", {
        source: "audio",
        message: `The browser blocked audio playback: ${messageOf(error)}`,
      });
    });
  }

  #setSpeaking(change: Partial<SpeakingState>): void {
    const next = { ...this.#speaking, ...change };
    if (next.user === this.#speaking.user && next.assistant === this.#speaking.assistant) return;
    this.#speaking = next;
    this.#events.emit("speaking", this.speaking);
    if (change.assistant !== undefined) this.#microphone.setAssistantSpeaking(next.assistant);
  }

  // ---- lifecycle -----------------------------------------------------------------------

  #setState(state: RealtimeSessionState): void {
    this.#state = state;
    this.#events.emit("state", state);
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
    this.#queue = [];
    if ("pc" in phase) {
      try {
        phase.channel.close();
      } catch {
        // Already closed.
      }
      try {
        phase.pc.close();
      } catch {
        // Already closed.
      }
    }
    this.#microphone.release();
    if (this.#audioAttached && this.#options.audioElement) {
      this.#options.audioElement.srcObject = null;
      this.#audioAttached = false;
    }
    this.#responses.clear();
    this.#tools.clear();
    // Typed messages the server never acknowledged did not arrive, whatever the channel took.
    this.#log.failUnsent();
    this.#setSpeaking({ user: false, assistant: false });
    this.#microphone.reportOffline();
    if (this.#linkState.stalled) {
      this.#linkState = { stalled: false };
      this.#events.emit("link", this.link);
    }
    this.#setState({ status: "closed", reason });
  }
}

const systemClock: Clock = {
  now: () => globalThis.performance.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) =>
    globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
};

/** `error` as a {@link RealtimeConnectError}, wrapping anything else at `stage`. */
function asConnectError(
  error: unknown,
  stage: RealtimeConnectError["stage"],
  failure: RealtimeConnectError["failure"],
): RealtimeConnectError {
  if (error instanceof RealtimeConnectError) return error;
  return new RealtimeConnectError(stage, failure, messageOf(error), { cause: error });
}
