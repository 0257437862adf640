import type {
  ConversationItem,
  RealtimeClientEvent,
  RealtimeServerEvent,
} from "openai/resources/realtime/realtime";
import {
  DEFAULT_CALLS_URL,
  EVENTS_CHANNEL,
  abortedError,
  closedBeforeOpen,
  createOffer,
  fetchSecret,
  postOffer,
} from "./call";
import { ConversationLog, EMPTY_USAGE, addUsage } from "./conversation";
import { Emitter, type Listener } from "./emitter";
import { RealtimeConnectError, isRecord, messageOf } from "./errors";
import { IceWatch, serverLimitReason } from "./liveness";
import { Microphone, resolveMuteStrategy, type MicrophoneSource } from "./microphone";
import { parseServerEvent } from "./parse";
import { ResponseTracker, playedMs } from "./playback";
import { ToolRunner } from "./tools";
import type {
  AudioSinkLike,
  Clock,
  CloseReason,
  ConnectTimings,
  ConversationEntry,
  DataChannelLike,
  FetchLike,
  MediaStreamLike,
  MicState,
  MuteStrategy,
  PeerConnectionLike,
  RealtimeSessionEventMap,
  RealtimeSessionState,
  RealtimeTool,
  SessionUpdate,
  SpeakingState,
  TimerHandle,
  UsageTotals,
} from "./types";

export { DEFAULT_CALLS_URL, EVENTS_CHANNEL, callIdFromLocation } from "./call";

/**
 * Options of {@link RealtimeSession}. Everything that touches the world is injectable. The
 * microphone's (`mediaStream`, `audioConstraints`, `getUserMedia`) are in
 * {@link MicrophoneSource}.
 */
export interface RealtimeSessionOptions extends MicrophoneSource {
  /**
   * Returns an ephemeral client secret (`ek_…`). Called once per `connect()`, in parallel
   * with the microphone, so a cached or prefetched secret costs nothing.
   */
  getToken: () => Promise<string>;
  /** Where the SDP offer goes. Defaults to {@link DEFAULT_CALLS_URL}. */
  callsUrl?: string;
  /** Plays the assistant. Without one, listen to `remote-stream` and route it yourself. */
  audioElement?: AudioSinkLike;
  createPeerConnection?: () => PeerConnectionLike;
  fetch?: FetchLike;
  clock?: Clock;
  /** Tools the model may call; sent with `session.update` as soon as the channel opens. */
  tools?: RealtimeTool[];
  /** Extra session fields sent with that first `session.update`. */
  session?: SessionUpdate;
  /** Defaults to `auto`. */
  muteStrategy?: MuteStrategy;
  /** Decides what `auto` means; defaults to sniffing `navigator.userAgent`. */
  isAndroid?: boolean;
  /** How long ICE may stay `disconnected` before the session gives up. Default 5000 ms. */
  disconnectGraceMs?: number;
  /** How long ICE, DTLS and the channel may take after the SDP answer. Default 15000 ms. */
  channelOpenTimeoutMs?: number;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * One voice conversation with an OpenAI Realtime model over WebRTC.
 *
 * Framework-agnostic: it touches no DOM beyond the audio element it is given, and every
 * browser API it uses is injectable. A session is used once; create a new one to reconnect.
 *
 * The session sequences `connect()`, owns the peer connection and the event channel, and
 * routes each server event to the part that keeps its state: the conversation log
 * (`conversation.ts`), the tool runner (`tools.ts`), the response and playback tracker
 * behind `interrupt()` (`playback.ts`), the microphone (`microphone.ts`) and the ICE
 * watch (`liveness.ts`).
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
  readonly #fetch: FetchLike;
  readonly #events = new Emitter<RealtimeSessionEventMap>();
  readonly #abort = new AbortController();
  readonly #log: ConversationLog;
  readonly #tools: ToolRunner;
  readonly #responses: ResponseTracker;
  readonly #microphone: Microphone;
  readonly #ice: IceWatch;

  #state: RealtimeSessionState = { status: "idle" };
  /** Set first thing in `#close`, before the `closed` state is announced. */
  #closed = false;
  #pc: PeerConnectionLike | null = null;
  #channel: DataChannelLike | null = null;
  #audioAttached = false;
  #queue: RealtimeClientEvent[] = [];
  #channelOpen: Deferred | null = null;
  #openTimer: TimerHandle | null = null;
  #connectStartedAt = 0;
  #timings: ConnectTimings = {};
  #callId: string | null = null;
  #usage: UsageTotals = { ...EMPTY_USAGE };
  #speaking: SpeakingState = { user: false, assistant: false };

  constructor(options: RealtimeSessionOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    // Truncations are bounded by the audio the receiver actually played out (playback.ts).
    this.#responses = new ResponseTracker({
      clock: this.#clock,
      stats: () => (this.#closed ? undefined : this.#pc?.getStats()),
    });
    this.#fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.#log = new ConversationLog((entries) => this.#events.emit("conversation", entries));
    this.#tools = new ToolRunner({
      tools: options.tools ?? [],
      log: this.#log,
      send: (event) => this.send(event),
      isClosed: () => this.#closed,
    });
    this.#microphone = new Microphone({
      strategy: resolveMuteStrategy(options.muteStrategy ?? "auto", options.isAndroid),
      onChange: (mic) => this.#events.emit("mic", mic),
      onProblem: (message) =>
        this.#events.emit("problem", { source: "protocol", message, raw: null }),
    });
    this.#ice = new IceWatch({
      clock: this.#clock,
      graceMs: options.disconnectGraceMs ?? 5_000,
      onLost: (reason) => this.#lost(reason),
      onConnected: () => this.#mark("iceConnected"),
    });
  }

  /** The current lifecycle state. */
  get state(): RealtimeSessionState {
    return this.#state;
  }

  /** The call id from the `Location` of the SDP answer (`rtc_…`), once known. */
  get callId(): string | null {
    return this.#callId;
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
   * Opens the call: microphone, client secret and SDP offer are prepared in parallel (the
   * microphone and the secret are asked for first, before the peer connection is built), the
   * offer is posted to the calls URL, and the promise resolves once the event channel is
   * open. On failure the session is `closed` and the promise rejects with a
   * {@link RealtimeConnectError} whose `stage` says what failed.
   */
  async connect(): Promise<void> {
    if (this.#state.status !== "idle" || this.#closed) {
      throw new Error(`connect() needs an idle session; this one is ${this.#state.status}.`);
    }
    this.#connectStartedAt = this.#clock.now();
    this.#setState({ status: "connecting" });
    // The microphone (a device to open, maybe a permission prompt) and the secret (a round
    // trip to the backend unless cached) are the slow steps and run outside this thread:
    // ask for both first, then build the peer connection and the offer while they run.
    const microphone = this.#microphone.acquire(this.#options, () => this.#mark("microphone"));
    const token = fetchSecret(this.#options.getToken, () => this.#mark("token"));
    // Awaited below; if building the peer connection throws first, these must not surface
    // as unhandled rejections (a microphone that arrives after the close is stopped).
    microphone.catch(() => undefined);
    token.catch(() => undefined);
    try {
      const pc = this.#createPeerConnection();
      // No track yet: the offer does not need one, so it is built while the microphone
      // permission prompt is still open.
      const { sender } = pc.addTransceiver("audio", { direction: "sendrecv" });
      this.#channel = this.#createChannel(pc);
      const offer = createOffer(pc, () => this.#mark("offer"));

      const [stream, secret, offerSdp] = await Promise.all([microphone, token, offer]);
      this.#throwIfClosed();

      this.#microphone.attach(stream);
      this.#events.emit("local-stream", stream);
      // The transceiver is already sendrecv, so putting the track on it needs no new offer:
      // it runs alongside the SDP exchange instead of before it.
      const sending = this.#microphone.send(sender);
      sending.catch(() => undefined); // awaited below, unless the SDP exchange fails first
      const answer = await postOffer({
        fetch: this.#fetch,
        url: this.#options.callsUrl ?? DEFAULT_CALLS_URL,
        sdp: offerSdp,
        token: secret,
        signal: this.#abort.signal,
        onReady: ({ callId }) => {
          this.#callId = callId;
          this.#mark("sdpAnswer");
        },
      });
      this.#throwIfClosed();
      await sending;
      this.#throwIfClosed();
      this.#microphone.goLive();
      try {
        await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      } catch (error) {
        throw new RealtimeConnectError("sdp", `The SDP answer was rejected: ${messageOf(error)}`, {
          cause: error,
        });
      }
      this.#throwIfClosed();

      await this.#waitForChannel();
      // The channel's open event may have been the moment someone disposed the session.
      this.#throwIfClosed();
      this.#setState({ status: "connected", callId: this.#callId });
    } catch (error) {
      const connectError =
        error instanceof RealtimeConnectError
          ? error
          : new RealtimeConnectError("channel", messageOf(error), { cause: error });
      if (!this.#closed) {
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
    if (this.#closed) return false;
    if (this.#channel?.readyState === "open") {
      this.#write(event);
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
    if (trimmed === "" || this.#closed) return false;
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

  /** Bytes of audio received and sent so far, from the peer connection's statistics. */
  async getStats(): Promise<{ inboundAudioBytes: number; outboundAudioBytes: number }> {
    const totals = { inboundAudioBytes: 0, outboundAudioBytes: 0 };
    if (!this.#pc || this.#closed) return totals;
    const report = await this.#pc.getStats();
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
    const pc = factory();
    this.#pc = pc;
    this.#ice.watch(pc);
    pc.addEventListener("track", (event) => this.#onRemoteStream(event.streams[0]));
    return pc;
  }

  #createChannel(pc: PeerConnectionLike): DataChannelLike {
    const channel = pc.createDataChannel(EVENTS_CHANNEL);
    channel.addEventListener("open", () => this.#onChannelOpen());
    channel.addEventListener("close", () => this.#lost({ kind: "channel-closed" }));
    channel.addEventListener("message", (event) => this.#onMessage(event.data));
    return channel;
  }

  #waitForChannel(): Promise<void> {
    if (this.#channel?.readyState === "open") return Promise.resolve();
    const deferred = createDeferred();
    this.#channelOpen = deferred;
    const timeoutMs = this.#options.channelOpenTimeoutMs ?? 15_000;
    this.#openTimer = this.#clock.setTimeout(() => {
      this.#openTimer = null;
      const error = new RealtimeConnectError(
        "channel",
        `The connection did not open within ${timeoutMs / 1000} s (ICE or DTLS stalled).`,
      );
      this.#close({ kind: "connect-failed", error });
    }, timeoutMs);
    return deferred.promise;
  }

  #throwIfClosed(): void {
    if (this.#closed) throw abortedError();
  }

  // ---- channel -------------------------------------------------------------------------

  #onChannelOpen(): void {
    if (this.#closed) return;
    this.#mark("channelOpen");
    // The tools go first so that nothing queued can start a response without them.
    if (this.#tools.size > 0 || this.#options.session) {
      this.#write({
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
    for (const event of queued) this.#write(event);
    if (this.#openTimer !== null) {
      this.#clock.clearTimeout(this.#openTimer);
      this.#openTimer = null;
    }
    this.#channelOpen?.resolve();
    this.#channelOpen = null;
  }

  #sendTools(): void {
    this.send({
      type: "session.update",
      session: { type: "realtime", tools: this.#tools.definitions(), tool_choice: "auto" },
    });
  }

  #write(event: RealtimeClientEvent): void {
    try {
      this.#channel?.send(JSON.stringify(event));
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
    if (this.#closed) return;
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
    const first = item.content[0];
    if (first?.type === "input_text") {
      // The server's copy of a typed message: adopt its id so later events can find it.
      this.#log.adoptTextId(item.id);
    } else if (first?.type === "input_audio") {
      this.#log.startVoice(item.id);
    }
  }

  /** `response.done` is read defensively: it is the one event that summarizes everything. */
  #onResponseDone(event: Extract<RealtimeServerEvent, { type: "response.done" }>): void {
    const response = isRecord(event.response) ? event.response : {};
    const id = typeof response.id === "string" ? response.id : null;
    if (id) this.#responses.responseDone(id);
    const usage = addUsage(this.#usage, response.usage);
    if (usage) {
      this.#usage = usage;
      this.#events.emit("usage", this.usage);
    }
    if (response.status === "failed" && isRecord(response.status_details)) {
      const error = response.status_details.error;
      if (isRecord(error) && typeof error.message === "string") {
        this.#events.emit("problem", {
          source: "server",
          error: { type: String(error.type ?? "response_failed"), message: error.message },
        });
      }
    }
    if (!id) return;
    if (Array.isArray(response.output)) {
      for (const item of response.output) {
        // A turn whose transcript never finished (cancelled, cut off) must not stay open.
        if (isRecord(item) && item.type === "message" && typeof item.id === "string") {
          this.#log.settleAssistant(
            item.id,
            response.status === "completed" ? "done" : "interrupted",
          );
        }
        // A call seen only here (its argument events lost) still deserves an answer.
        if (isRecord(item) && item.type === "function_call") {
          const { call_id: callId, name, arguments: args } = item;
          if (typeof callId === "string" && typeof name === "string") {
            this.#tools.run(id, callId, name, typeof args === "string" ? args : "");
          }
        }
      }
    }
    this.#tools.responseDone(id, response.status);
  }

  // ---- audio ---------------------------------------------------------------------------

  #onRemoteStream(stream: MediaStreamLike | undefined): void {
    if (!stream || this.#closed) return;
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
    if (this.#timings[step] !== undefined || this.#state.status === "idle") return;
    this.#timings = {
      ...this.#timings,
      [step]: Math.round(this.#clock.now() - this.#connectStartedAt),
    };
    this.#events.emit("timings", this.timings);
  }

  /** A loss only counts while there is a call to lose. */
  #lost(reason: CloseReason): void {
    if (this.#state.status === "connecting" || this.#state.status === "connected") {
      this.#close(reason);
    }
  }

  #close(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ice.stop();
    if (this.#openTimer !== null) {
      this.#clock.clearTimeout(this.#openTimer);
      this.#openTimer = null;
    }
    this.#abort.abort();
    this.#queue = [];
    if (this.#channelOpen) {
      this.#channelOpen.reject(
        reason.kind === "connect-failed" ? reason.error : closedBeforeOpen(reason),
      );
      this.#channelOpen = null;
    }
    try {
      this.#channel?.close();
    } catch {
      // Already closed.
    }
    try {
      this.#pc?.close();
    } catch {
      // Already closed.
    }
    this.#microphone.release();
    if (this.#audioAttached && this.#options.audioElement) {
      this.#options.audioElement.srcObject = null;
      this.#audioAttached = false;
    }
    this.#responses.clear();
    this.#tools.clear();
    this.#setSpeaking({ user: false, assistant: false });
    this.#microphone.reportOffline();
    this.#setState({ status: "closed", reason });
  }
}

const systemClock: Clock = {
  now: () => globalThis.performance.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) =>
    globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
};

function createDeferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // The rejection is also delivered through connect(); do not report it as unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
