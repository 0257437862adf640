import type {
  ConversationItem,
  RealtimeClientEvent,
  RealtimeFunctionTool,
  RealtimeServerEvent,
} from "openai/resources/realtime/realtime";
import { Emitter, type Listener } from "./emitter";
import { RealtimeCallError, RealtimeConnectError, isRecord, messageOf } from "./errors";
import { parseServerEvent } from "./parse";
import type {
  AudioSinkLike,
  Clock,
  CloseReason,
  ConnectTimings,
  ConversationEntry,
  DataChannelLike,
  FetchLike,
  MediaStreamLike,
  MediaStreamTrackLike,
  MicState,
  MuteStrategy,
  PeerConnectionLike,
  RealtimeSessionEventMap,
  RealtimeSessionState,
  RealtimeTool,
  RtpSenderLike,
  SessionUpdate,
  SpeakingState,
  TimerHandle,
  UsageTotals,
} from "./types";

/** OpenAI's endpoint for opening a WebRTC call with an ephemeral client secret. */
export const DEFAULT_CALLS_URL = "https://api.openai.com/v1/realtime/calls";

/** The data channel name the Realtime API expects. */
export const EVENTS_CHANNEL = "oai-events";

/** Options of {@link RealtimeSession}. Everything that touches the world is injectable. */
export interface RealtimeSessionOptions {
  /**
   * Returns an ephemeral client secret (`ek_…`). Called once per `connect()`, in parallel
   * with the microphone, so a cached or prefetched secret costs nothing.
   */
  getToken: () => Promise<string>;
  /** Where the SDP offer goes. Defaults to {@link DEFAULT_CALLS_URL}. */
  callsUrl?: string;
  /** Plays the assistant. Without one, listen to `remote-stream` and route it yourself. */
  audioElement?: AudioSinkLike;
  /**
   * A microphone stream you own. The session never stops its tracks; without it the
   * session calls `getUserMedia` and stops what it acquired when it closes.
   */
  mediaStream?: MediaStreamLike;
  /** Constraints for the session's own `getUserMedia` call. */
  audioConstraints?: MediaTrackConstraints | boolean;
  getUserMedia?: (constraints: {
    audio: MediaTrackConstraints | boolean;
  }) => Promise<MediaStreamLike>;
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

/** Error codes with which the server ends a session it will not continue. */
const SERVER_LIMIT_CODES = new Set(["session_expired", "session_max_duration_exceeded"]);

const DEFAULT_AUDIO_CONSTRAINTS: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

const EMPTY_USAGE: UsageTotals = {
  responses: 0,
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  inputTextTokens: 0,
  inputAudioTokens: 0,
  cachedInputTokens: 0,
  outputTextTokens: 0,
  outputAudioTokens: 0,
};

interface Playback {
  responseId: string;
  itemId: string | null;
  startedAt: number;
}

interface ToolBatch {
  pending: number;
  responseDone: boolean;
  continueAfter: boolean;
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
  readonly #tools = new Map<string, RealtimeTool>();
  readonly #abort = new AbortController();

  #state: RealtimeSessionState = { status: "idle" };
  /** Set first thing in `#close`, before the `closed` state is announced. */
  #closed = false;
  #pc: PeerConnectionLike | null = null;
  #channel: DataChannelLike | null = null;
  #sender: RtpSenderLike | null = null;
  #micStream: MediaStreamLike | null = null;
  #micTrack: MediaStreamTrackLike | null = null;
  #ownsMic = false;
  #micDetached = true;
  #audioAttached = false;
  #queue: RealtimeClientEvent[] = [];
  #channelOpen: Deferred | null = null;
  #graceTimer: TimerHandle | null = null;
  #openTimer: TimerHandle | null = null;
  #connectStartedAt = 0;
  #timings: ConnectTimings = {};
  #callId: string | null = null;

  #entries: ConversationEntry[] = [];
  #pendingTextIds: string[] = [];
  #usage: UsageTotals = { ...EMPTY_USAGE };
  #activeResponses = new Set<string>();
  #assistantItemByResponse = new Map<string, string>();
  #playback: Playback | null = null;
  #speaking: SpeakingState = { user: false, assistant: false };
  #muted = false;
  #mic: MicState = { muted: false, live: false };
  #handledCalls = new Set<string>();
  #toolBatches = new Map<string, ToolBatch>();
  #localIds = 0;

  constructor(options: RealtimeSessionOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    for (const tool of options.tools ?? []) this.#tools.set(tool.name, tool);
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
    return [...this.#entries];
  }

  /** Token usage summed over every completed response. */
  get usage(): UsageTotals {
    return { ...this.#usage };
  }

  get speaking(): SpeakingState {
    return { ...this.#speaking };
  }

  get mic(): MicState {
    return { ...this.#mic };
  }

  /** When each connect step finished, in ms after `connect()` was called. */
  get timings(): ConnectTimings {
    return { ...this.#timings };
  }

  /** The microphone stream in use, once acquired. */
  get localStream(): MediaStreamLike | null {
    return this.#micStream;
  }

  /** `auto` resolved for this platform. */
  get muteStrategy(): Exclude<MuteStrategy, "auto"> {
    const strategy = this.#options.muteStrategy ?? "auto";
    if (strategy !== "auto") return strategy;
    return (this.#options.isAndroid ?? sniffAndroid()) ? "aggressive" : "standard";
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
    const microphone = this.#acquireMicrophone();
    const token = this.#fetchToken();
    // Awaited below; if building the peer connection throws first, these must not surface
    // as unhandled rejections (a microphone that arrives after the close is stopped).
    microphone.catch(() => undefined);
    token.catch(() => undefined);
    try {
      const pc = this.#createPeerConnection();
      // No track yet: the offer does not need one, so it is built while the microphone
      // permission prompt is still open.
      const { sender } = pc.addTransceiver("audio", { direction: "sendrecv" });
      this.#sender = sender;
      this.#channel = this.#createChannel(pc);

      const [stream, secret, offer] = await Promise.all([microphone, token, this.#createOffer(pc)]);
      this.#throwIfClosed();

      this.#attachMicrophone(stream);
      // The transceiver is already sendrecv, so putting the track on it needs no new offer:
      // it runs alongside the SDP exchange instead of before it.
      const sending = sender.replaceTrack(this.#micTrack).catch((error: unknown) => {
        throw new RealtimeConnectError(
          "microphone",
          `Could not send the microphone: ${messageOf(error)}`,
          { cause: error },
        );
      });
      sending.catch(() => undefined); // awaited below, unless the SDP exchange fails first
      const answer = await this.#postOffer(offer, secret);
      this.#throwIfClosed();
      await sending;
      this.#throwIfClosed();
      this.#micDetached = false;
      this.#applyMic();
      try {
        await pc.setRemoteDescription({ type: "answer", sdp: answer });
      } catch (error) {
        throw new RealtimeConnectError("sdp", `The SDP answer was rejected: ${messageOf(error)}`, {
          cause: error,
        });
      }
      this.#throwIfClosed();

      await this.#waitForChannel();
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
    const localId = `local_${++this.#localIds}`;
    this.#pendingTextIds.push(localId);
    this.#putEntry({ kind: "user", id: localId, source: "text", text: trimmed, status: "done" });
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
    this.#tools.set(tool.name, tool);
    if (this.#state.status === "connected") this.#sendTools();
    return () => {
      if (this.#tools.get(tool.name) !== tool) return;
      this.#tools.delete(tool.name);
      if (this.#state.status === "connected") this.#sendTools();
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
    const inFlight = this.#activeResponses.size > 0;
    const playback = this.#playback;
    if (!inFlight && !playback) return false;
    if (inFlight) this.send({ type: "response.cancel" });
    this.send({ type: "output_audio_buffer.clear" });
    if (playback) {
      const played = Math.max(0, Math.floor(this.#clock.now() - playback.startedAt));
      if (playback.itemId) {
        this.send({
          type: "conversation.item.truncate",
          item_id: playback.itemId,
          content_index: 0,
          audio_end_ms: played,
        });
        this.#updateEntry(playback.itemId, (entry) =>
          entry.kind === "assistant" ? { ...entry, status: "interrupted" } : entry,
        );
      }
      this.#playback = null;
      this.#setSpeaking({ assistant: false });
    }
    return true;
  }

  /** Mutes or unmutes the microphone (the track keeps running; silence is sent). */
  setMuted(muted: boolean): void {
    this.#muted = muted;
    this.#applyMic();
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
    const onIceState = (state: string) => {
      if (state === "failed") {
        this.#lost({ kind: "ice-failed" });
      } else if (state === "disconnected") {
        this.#startGraceTimer();
      } else if (state === "connected" || state === "completed") {
        this.#clearGraceTimer();
        this.#mark("iceConnected");
      }
    };
    pc.addEventListener("connectionstatechange", () => onIceState(pc.connectionState));
    pc.addEventListener("iceconnectionstatechange", () => onIceState(pc.iceConnectionState));
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

  async #acquireMicrophone(): Promise<MediaStreamLike> {
    if (this.#options.mediaStream) {
      this.#mark("microphone");
      return this.#options.mediaStream;
    }
    const getUserMedia =
      this.#options.getUserMedia ??
      ((constraints) => globalThis.navigator.mediaDevices.getUserMedia(constraints));
    let stream: MediaStreamLike;
    try {
      stream = await getUserMedia({
        audio: this.#options.audioConstraints ?? DEFAULT_AUDIO_CONSTRAINTS,
      });
    } catch (error) {
      throw new RealtimeConnectError("microphone", microphoneMessage(error), { cause: error });
    }
    if (this.#closed) {
      // Acquired after the session ended: nobody else will stop these tracks.
      for (const track of stream.getTracks()) track.stop();
    } else {
      this.#micStream = stream;
      this.#ownsMic = true;
      this.#mark("microphone");
    }
    return stream;
  }

  async #fetchToken(): Promise<string> {
    let token: string;
    try {
      token = await this.#options.getToken();
    } catch (error) {
      throw new RealtimeConnectError("token", messageOf(error), { cause: error });
    }
    if (typeof token !== "string" || token === "") {
      throw new RealtimeConnectError("token", "The token provider returned an empty secret.");
    }
    this.#mark("token");
    return token;
  }

  async #createOffer(pc: PeerConnectionLike): Promise<string> {
    try {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      if (!offer.sdp) throw new Error("The offer has no SDP.");
      this.#mark("offer");
      return offer.sdp;
    } catch (error) {
      throw new RealtimeConnectError(
        "offer",
        `Could not create the SDP offer: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  #attachMicrophone(stream: MediaStreamLike): void {
    const track = stream.getAudioTracks()[0];
    if (!track) {
      throw new RealtimeConnectError("microphone", "The microphone stream has no audio track.");
    }
    this.#micStream = stream;
    this.#micTrack = track;
    this.#events.emit("local-stream", stream);
  }

  async #postOffer(sdp: string, token: string): Promise<string> {
    const url = this.#options.callsUrl ?? DEFAULT_CALLS_URL;
    let response: Awaited<ReturnType<FetchLike>>;
    let body: string;
    try {
      response = await this.#fetch(url, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/sdp" },
        body: sdp,
        signal: this.#abort.signal,
      });
      body = await response.text();
    } catch (error) {
      if (this.#abort.signal.aborted) throw aborted();
      throw new RealtimeConnectError("sdp", `Could not reach ${url}: ${messageOf(error)}`, {
        cause: error,
      });
    }
    if (!response.ok) {
      const callError = RealtimeCallError.fromResponse(response.status, response.statusText, body);
      throw new RealtimeConnectError("sdp", callError.message, { cause: callError });
    }
    if (!body.startsWith("v=")) {
      throw new RealtimeConnectError(
        "sdp",
        `The calls endpoint answered HTTP ${response.status} without an SDP answer.`,
      );
    }
    this.#callId = callIdFromLocation(response.headers.get("Location"));
    this.#mark("sdpAnswer");
    return body;
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
    if (this.#closed) throw aborted();
  }

  // ---- channel -------------------------------------------------------------------------

  #onChannelOpen(): void {
    if (this.#closed) return;
    this.#mark("channelOpen");
    if (this.#tools.size > 0 || this.#options.session) {
      this.#write({
        type: "session.update",
        session: {
          type: "realtime",
          ...this.#options.session,
          ...(this.#tools.size > 0 ? { tools: this.#toolDefinitions(), tool_choice: "auto" } : {}),
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

  #handle(event: RealtimeServerEvent): void {
    switch (event.type) {
      case "session.created":
        this.#mark("sessionCreated");
        break;
      case "error": {
        const code: unknown = isRecord(event.error) ? event.error.code : undefined;
        if (typeof code === "string" && SERVER_LIMIT_CODES.has(code)) {
          this.#lost({ kind: "server-limit", message: messageOf(event.error.message) });
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
        this.#appendUserTranscript(event.item_id, event.delta ?? "");
        break;
      case "conversation.item.input_audio_transcription.completed":
        this.#putUserTranscript(event.item_id, event.transcript, "done");
        break;
      case "conversation.item.input_audio_transcription.failed":
        this.#putUserTranscript(event.item_id, null, "failed");
        break;
      case "response.created":
        if (event.response.id) this.#activeResponses.add(event.response.id);
        break;
      case "response.output_item.added":
        this.#onOutputItemAdded(event.response_id, event.item);
        break;
      case "response.output_audio_transcript.delta":
      case "response.output_text.delta":
        this.#appendAssistant(event.item_id, event.delta);
        break;
      case "response.output_audio_transcript.done":
        this.#finishAssistant(event.item_id, event.transcript);
        break;
      case "response.output_text.done":
        this.#finishAssistant(event.item_id, event.text);
        break;
      case "response.function_call_arguments.done":
        this.#runTool(event.response_id, event.call_id, event.name, event.arguments);
        break;
      case "response.output_item.done":
        if (event.item.type === "function_call") {
          const { call_id, name, arguments: args } = event.item;
          if (call_id && name) this.#runTool(event.response_id, call_id, name, args ?? "");
        }
        break;
      case "response.done":
        this.#onResponseDone(event);
        break;
      case "output_audio_buffer.started":
        this.#playback = {
          responseId: event.response_id,
          itemId: this.#assistantItemByResponse.get(event.response_id) ?? null,
          startedAt: this.#clock.now(),
        };
        this.#setSpeaking({ assistant: true });
        break;
      case "output_audio_buffer.stopped":
      case "output_audio_buffer.cleared":
        this.#playback = null;
        this.#setSpeaking({ assistant: false });
        break;
      case "conversation.item.truncated":
        this.#updateEntry(event.item_id, (entry) =>
          entry.kind === "assistant" ? { ...entry, status: "interrupted" } : entry,
        );
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
      const localId = this.#pendingTextIds.shift();
      if (localId) this.#updateEntry(localId, (entry) => ({ ...entry, id: item.id ?? entry.id }));
      return;
    }
    if (first?.type === "input_audio" && !this.#findEntry(item.id)) {
      this.#putEntry({
        kind: "user",
        id: item.id,
        source: "voice",
        text: "",
        status: "in_progress",
      });
    }
  }

  #onOutputItemAdded(responseId: string, item: ConversationItem): void {
    if (item.type !== "message" || item.role !== "assistant" || !item.id) return;
    if (!this.#assistantItemByResponse.has(responseId)) {
      this.#assistantItemByResponse.set(responseId, item.id);
      if (this.#playback?.responseId === responseId && !this.#playback.itemId) {
        this.#playback.itemId = item.id;
      }
    }
    if (!this.#findEntry(item.id)) {
      this.#putEntry({ kind: "assistant", id: item.id, text: "", status: "in_progress" });
    }
  }

  #onResponseDone(event: Extract<RealtimeServerEvent, { type: "response.done" }>): void {
    const response = isRecord(event.response) ? event.response : {};
    const id = typeof response.id === "string" ? response.id : null;
    if (id) this.#activeResponses.delete(id);
    this.#addUsage(response.usage);
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
          const settled = response.status === "completed" ? "done" : "interrupted";
          this.#updateEntry(item.id, (entry) =>
            entry.kind === "assistant" && entry.status === "in_progress"
              ? { ...entry, status: settled }
              : entry,
          );
        }
        // A call seen only here (its argument events lost) still deserves an answer.
        if (isRecord(item) && item.type === "function_call") {
          const { call_id: callId, name, arguments: args } = item;
          if (typeof callId === "string" && typeof name === "string") {
            this.#runTool(id, callId, name, typeof args === "string" ? args : "");
          }
        }
      }
    }
    const batch = this.#toolBatches.get(id);
    if (batch) {
      batch.responseDone = true;
      // A cancelled response means the user moved on: answer the calls, don't resume.
      batch.continueAfter = response.status !== "cancelled";
      this.#maybeContinue(id);
    }
    this.#assistantItemByResponse.delete(id);
  }

  // ---- tools ---------------------------------------------------------------------------

  #toolDefinitions(): RealtimeFunctionTool[] {
    return [...this.#tools.values()].map((tool) => ({
      type: "function",
      name: tool.name,
      description: tool.description,
      parameters: tool.parameters,
    }));
  }

  #sendTools(): void {
    this.send({
      type: "session.update",
      session: { type: "realtime", tools: this.#toolDefinitions(), tool_choice: "auto" },
    });
  }

  #runTool(responseId: string, callId: string, name: string, rawArgs: string): void {
    if (this.#handledCalls.has(callId)) return;
    this.#handledCalls.add(callId);
    let batch = this.#toolBatches.get(responseId);
    if (!batch) {
      batch = { pending: 0, responseDone: false, continueAfter: true };
      this.#toolBatches.set(responseId, batch);
    }
    batch.pending += 1;
    this.#putEntry({ kind: "tool", id: callId, name, arguments: rawArgs, status: "running" });

    void this.#invokeTool(callId, name, rawArgs).then(({ output, ok }) => {
      if (this.#closed) return;
      this.#updateEntry(callId, (entry) =>
        entry.kind === "tool" ? { ...entry, status: ok ? "done" : "error", output } : entry,
      );
      this.send({
        type: "conversation.item.create",
        item: { type: "function_call_output", call_id: callId, output },
      });
      const current = this.#toolBatches.get(responseId);
      if (current) {
        current.pending -= 1;
        this.#maybeContinue(responseId);
      }
    });
  }

  async #invokeTool(
    callId: string,
    name: string,
    rawArgs: string,
  ): Promise<{ output: string; ok: boolean }> {
    const tool = this.#tools.get(name);
    if (!tool) return { output: JSON.stringify({ error: `Unknown tool "${name}".` }), ok: false };
    let args: unknown;
    try {
      args = rawArgs.trim() === "" ? {} : JSON.parse(rawArgs);
    } catch {
      return { output: JSON.stringify({ error: "The arguments are not valid JSON." }), ok: false };
    }
    try {
      const result: unknown = await tool.handler(args, { callId });
      return {
        output: typeof result === "string" ? result : JSON.stringify(result ?? null),
        ok: true,
      };
    } catch (error) {
      return { output: JSON.stringify({ error: messageOf(error) }), ok: false };
    }
  }

  /** The server does not answer tool results by itself; ask once per batch, after the response ends. */
  #maybeContinue(responseId: string): void {
    const batch = this.#toolBatches.get(responseId);
    if (!batch || batch.pending > 0 || !batch.responseDone) return;
    this.#toolBatches.delete(responseId);
    if (batch.continueAfter) this.send({ type: "response.create" });
  }

  // ---- conversation log ----------------------------------------------------------------

  #findEntry(id: string): ConversationEntry | undefined {
    return this.#entries.find((entry) => entry.id === id);
  }

  #putEntry(entry: ConversationEntry): void {
    const index = this.#entries.findIndex((existing) => existing.id === entry.id);
    if (index === -1) this.#entries.push(entry);
    else this.#entries[index] = entry;
    this.#events.emit("conversation", this.conversation);
  }

  #updateEntry(id: string, update: (entry: ConversationEntry) => ConversationEntry): void {
    const index = this.#entries.findIndex((entry) => entry.id === id);
    const current = this.#entries[index];
    if (!current) return;
    const next = update(current);
    if (next === current) return;
    this.#entries[index] = next;
    this.#events.emit("conversation", this.conversation);
  }

  #appendUserTranscript(itemId: string, delta: string): void {
    const entry = this.#findEntry(itemId);
    if (entry?.kind === "user") {
      this.#updateEntry(itemId, () => ({ ...entry, text: entry.text + delta }));
    } else if (!entry) {
      this.#putEntry({
        kind: "user",
        id: itemId,
        source: "voice",
        text: delta,
        status: "in_progress",
      });
    }
  }

  #putUserTranscript(itemId: string, transcript: string | null, status: "done" | "failed"): void {
    const entry = this.#findEntry(itemId);
    if (entry && entry.kind !== "user") return;
    const text = transcript ?? entry?.text ?? "";
    this.#putEntry({ kind: "user", id: itemId, source: "voice", text, status });
  }

  #appendAssistant(itemId: string, delta: string): void {
    const entry = this.#findEntry(itemId);
    if (entry?.kind === "assistant") {
      this.#updateEntry(itemId, () => ({ ...entry, text: entry.text + delta }));
    } else if (!entry) {
      this.#putEntry({ kind: "assistant", id: itemId, text: delta, status: "in_progress" });
    }
  }

  #finishAssistant(itemId: string, text: string): void {
    const entry = this.#findEntry(itemId);
    if (entry && entry.kind !== "assistant") return;
    const status = entry?.status === "interrupted" ? "interrupted" : "done";
    this.#putEntry({ kind: "assistant", id: itemId, text, status });
  }

  #addUsage(usage: unknown): void {
    if (!isRecord(usage)) return;
    const input = isRecord(usage.input_token_details) ? usage.input_token_details : {};
    const output = isRecord(usage.output_token_details) ? usage.output_token_details : {};
    const u = this.#usage;
    this.#usage = {
      responses: u.responses + 1,
      inputTokens: u.inputTokens + count(usage.input_tokens),
      outputTokens: u.outputTokens + count(usage.output_tokens),
      totalTokens: u.totalTokens + count(usage.total_tokens),
      inputTextTokens: u.inputTextTokens + count(input.text_tokens),
      inputAudioTokens: u.inputAudioTokens + count(input.audio_tokens),
      cachedInputTokens: u.cachedInputTokens + count(input.cached_tokens),
      outputTextTokens: u.outputTextTokens + count(output.text_tokens),
      outputAudioTokens: u.outputAudioTokens + count(output.audio_tokens),
    };
    this.#events.emit("usage", this.usage);
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
    if (change.assistant !== undefined) this.#applyMic();
  }

  #applyMic(): void {
    const track = this.#micTrack;
    if (!track || this.#closed) return;
    track.enabled = !this.#muted;
    // Replacing the track with null stops RTP outright: unlike a disabled track, no comfort
    // noise or residual echo reaches the server's voice activity detection.
    const detach = this.muteStrategy === "aggressive" && this.#speaking.assistant;
    if (detach !== this.#micDetached && this.#sender) {
      this.#micDetached = detach;
      this.#sender.replaceTrack(detach ? null : track).catch((error: unknown) => {
        this.#events.emit("problem", {
          source: "protocol",
          message: `Could not switch the microphone: ${messageOf(error)}`,
          raw: null,
        });
      });
    }
    const mic = { muted: this.#muted, live: !this.#muted && !this.#micDetached };
    if (mic.muted !== this.#mic.muted || mic.live !== this.#mic.live) {
      this.#mic = mic;
      this.#events.emit("mic", this.mic);
    }
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

  #startGraceTimer(): void {
    if (this.#graceTimer !== null || this.#closed) return;
    const graceMs = this.#options.disconnectGraceMs ?? 5_000;
    this.#graceTimer = this.#clock.setTimeout(() => {
      this.#graceTimer = null;
      this.#lost({ kind: "ice-disconnected", graceMs });
    }, graceMs);
  }

  #clearGraceTimer(): void {
    if (this.#graceTimer === null) return;
    this.#clock.clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
  }

  #lost(reason: CloseReason): void {
    if (this.#state.status === "connecting" || this.#state.status === "connected") {
      this.#close(reason);
    }
  }

  #close(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearGraceTimer();
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
    if (this.#ownsMic && this.#micStream) {
      for (const track of this.#micStream.getTracks()) track.stop();
    }
    if (this.#audioAttached && this.#options.audioElement) {
      this.#options.audioElement.srcObject = null;
      this.#audioAttached = false;
    }
    this.#playback = null;
    this.#activeResponses.clear();
    this.#toolBatches.clear();
    this.#setSpeaking({ user: false, assistant: false });
    if (this.#mic.live) {
      this.#mic = { muted: this.#muted, live: false };
      this.#events.emit("mic", this.mic);
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

function sniffAndroid(): boolean {
  return /Android/i.test(globalThis.navigator?.userAgent ?? "");
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

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

function aborted(): RealtimeConnectError {
  return new RealtimeConnectError("aborted", "The session was closed while connecting.");
}

function closedBeforeOpen(reason: CloseReason): RealtimeConnectError {
  switch (reason.kind) {
    case "client":
      return aborted();
    case "ice-failed":
      return new RealtimeConnectError("channel", "The network connection to OpenAI failed (ICE).");
    case "ice-disconnected":
      return new RealtimeConnectError("channel", "The network connection to OpenAI dropped.");
    case "channel-closed":
      return new RealtimeConnectError("channel", "OpenAI closed the event channel.");
    case "server-limit":
      return new RealtimeConnectError("channel", reason.message);
    case "connect-failed":
      return reason.error;
  }
}

/** The last path segment of the answer's `Location` (`/v1/realtime/calls/rtc_…`). */
export function callIdFromLocation(location: string | null): string | null {
  if (!location) return null;
  const path = location.split(/[?#]/)[0] ?? "";
  const last = path.split("/").filter(Boolean).pop();
  return last ?? null;
}

function microphoneMessage(error: unknown): string {
  switch (isRecord(error) ? error.name : undefined) {
    case "NotAllowedError":
    case "SecurityError":
      return "Microphone access was denied.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No microphone was found.";
    case "NotReadableError":
    case "AbortError":
      return "The microphone could not be started; another app may be using it.";
    default:
      return `The microphone could not be opened: ${messageOf(error)}`;
  }
}
