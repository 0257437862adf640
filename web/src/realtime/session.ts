import type { RealtimeClientEvent } from "openai/resources/realtime/realtime";
import { ConversationLog } from "./conversation";
import { Emitter, type Listener } from "./emitter";
import { secretExchange, type SdpExchange, type SecretExchangeOptions } from "./exchange";
import { MediaCall, type MediaCallEventMap, type MediaCallOptions } from "./mediaCall";
import { ResponseTracker } from "./playback";
import type { OpenAIServerEvent, OpenAIServerEventType } from "./protocol/openai/parse";
import { OpenAIRealtimeProtocol } from "./protocol/openai/protocol";
import { ToolRunner } from "./tools";
import type { AudioBytes } from "./transport/webrtc";
import type {
  ConnectTimings,
  ConversationEntry,
  LinkState,
  MediaStreamLike,
  MicState,
  MuteStrategy,
  RealtimeSessionState,
  RealtimeTool,
  SessionUpdate,
  SpeakingState,
  UsageTotals,
} from "./types";

/** Options of {@link RealtimeSession} that do not depend on how the offer is exchanged. */
export interface RealtimeSessionBaseOptions extends MediaCallOptions {
  /** Tools the model may call; sent with `session.update` as soon as the channel opens. */
  tools?: RealtimeTool[];
  /** Extra session fields sent with that first `session.update`. */
  session?: SessionUpdate;
}

/**
 * Options of {@link RealtimeSession}. Everything that touches the world is injectable. The
 * offer goes through `exchange`; without one, the browser posts it itself with a secret from
 * `getToken` ({@link secretExchange}, whose options are accepted here).
 */
export type RealtimeSessionOptions = RealtimeSessionBaseOptions &
  ({ exchange: SdpExchange } | ({ exchange?: undefined } & SecretExchangeOptions));

/** Events of {@link RealtimeSession}, with their payloads (the call's: `mediaCall.ts`). */
export interface RealtimeSessionEventMap extends MediaCallEventMap<RealtimeClientEvent> {
  /**
   * Every server event the protocol acts on, checked against its schema (the fields it
   * reads, typed as the `openai` package types them). Events of other types are not emitted.
   */
  server: OpenAIServerEvent;
  conversation: readonly ConversationEntry[];
  speaking: SpeakingState;
  usage: UsageTotals;
}

/**
 * One voice conversation with an OpenAI Realtime model over WebRTC.
 *
 * Framework-agnostic: it touches no DOM beyond the audio element it is given, and every
 * browser API it uses is injectable, the SDP exchange included. A session is used once;
 * create a new one to reconnect.
 *
 * The session composes the parts: its call (`mediaCall.ts`) runs the connect steps
 * (`connect.ts`) and adopts the transport (`transport/webrtc.ts`: the peer connection and the
 * event channel), with the microphone, the assistant's audio and the liveness watches; the protocol
 * (`protocol/openai/`) checks each server event and routes it to the unit that keeps its
 * state: the conversation log (`conversation.ts`), the tool runner (`tools.ts`), the response
 * and playback tracker behind `interrupt()` (`playback.ts`).
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
  readonly #events = new Emitter<RealtimeSessionEventMap>();
  readonly #call: MediaCall<RealtimeClientEvent>;
  readonly #log: ConversationLog;
  readonly #tools: ToolRunner;
  readonly #responses: ResponseTracker;
  readonly #protocol: OpenAIRealtimeProtocol;

  #speaking: SpeakingState = { user: false, assistant: false };

  constructor(options: RealtimeSessionOptions) {
    this.#options = options;
    const exchange: SdpExchange = options.exchange ?? secretExchange(options);
    this.#call = new MediaCall(options, {
      exchange,
      events: this.#events,
      receive: (data) => this.#protocol.receive(data),
      opening: () => this.#protocol.opening(),
      closing: () => {
        this.#protocol.close();
        this.#setSpeaking({ user: false, assistant: false });
      },
    });
    // Truncations are bounded by the audio the receiver actually played out (playback.ts).
    this.#responses = new ResponseTracker({
      clock: this.#call.clock,
      stats: () => this.#call.transport?.getStats(),
    });
    this.#log = new ConversationLog((entries) => this.#events.emit("conversation", entries));
    this.#tools = new ToolRunner({
      tools: options.tools ?? [],
      log: this.#log,
      send: (event) => this.send(event),
      isClosed: () => this.#call.phase === "closed",
    });
    this.#protocol = this.#openAIProtocol();
  }

  /** The current lifecycle state. */
  get state(): RealtimeSessionState {
    return this.#call.state;
  }

  /** The call id from the `Location` of the SDP answer (`rtc_…`), once known. */
  get callId(): string | null {
    return this.#call.callId;
  }

  /** Whether anything is arriving from the server (see {@link LinkState}). */
  get link(): LinkState {
    return this.#call.link;
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
    return this.#call.microphone.state;
  }

  /** When each connect step finished, in ms after `connect()` was called. */
  get timings(): ConnectTimings {
    return this.#call.timings;
  }

  /** The microphone stream in use, once acquired. */
  get localStream(): MediaStreamLike | null {
    return this.#call.localStream;
  }

  /** `auto` resolved for this platform. */
  get muteStrategy(): Exclude<MuteStrategy, "auto"> {
    return this.#call.microphone.strategy;
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
  connect(): Promise<void> {
    return this.#call.connect();
  }

  /**
   * Sends a client event. Before the channel opens events are queued and sent in order
   * once it does. Returns false when the session is closed and the event was dropped.
   */
  send(event: RealtimeClientEvent): boolean {
    if (this.#call.phase === "closed") return false;
    this.#protocol.sending(event);
    return this.#call.send(event);
  }

  /**
   * Adds a typed user message and asks for a response. A response already playing is
   * interrupted first: typing is a barge-in, and the API refuses a second active response.
   */
  sendText(text: string): boolean {
    const trimmed = text.trim();
    if (trimmed === "" || this.#call.phase === "closed") return false;
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
    if (this.#call.phase === "connected") this.send(this.#protocol.toolsUpdate());
    return () => {
      if (remove() && this.#call.phase === "connected") this.send(this.#protocol.toolsUpdate());
    };
  }

  /**
   * Stops the assistant: cancels the response in flight (only if there is one), clears the
   * server's output audio buffer, and truncates the playing item to the milliseconds that
   * actually played, so the model's memory matches what the user heard. Returns false when
   * there was nothing to interrupt.
   */
  interrupt(): boolean {
    if (this.#call.phase !== "connected") return false;
    return this.#protocol.interrupt((event) => this.send(event));
  }

  /** Mutes or unmutes the microphone (the track keeps running; silence is sent). */
  setMuted(muted: boolean): void {
    this.#call.microphone.setMuted(muted);
  }

  /**
   * Push-to-talk's microphone gate (`PushToTalk`'s `setMicOpen`): closed, the microphone's
   * track is off the sender and nothing at all is sent; open, it is sent unless muted.
   * Sessions without push-to-talk never close it.
   */
  setPushToTalkOpen(open: boolean): void {
    this.#call.microphone.setPushToTalkOpen(open);
  }

  /** Bytes of audio received and sent so far, from the peer connection's statistics. */
  getStats(): Promise<AudioBytes> {
    return this.#call.getStats();
  }

  /**
   * Ends the session: closes the call, stops the microphone tracks the session acquired
   * (never a stream it was given) and detaches the audio element. Safe to call again.
   */
  dispose(): void {
    this.#call.close({ kind: "client" });
  }

  // ---- composition ---------------------------------------------------------------------

  #openAIProtocol(): OpenAIRealtimeProtocol {
    return new OpenAIRealtimeProtocol({
      log: this.#log,
      tools: this.#tools,
      responses: this.#responses,
      clock: this.#call.clock,
      session: this.#options.session,
      setSpeaking: (change) => this.#setSpeaking(change),
      mark: (step) => this.#call.mark(step),
      lost: (reason) => this.#call.lost(reason),
      problem: (problem) => this.#events.emit("problem", problem),
      server: (event) => this.#events.emit("server", event),
      usage: (totals) => this.#events.emit("usage", totals),
    });
  }

  // ---- speaking ------------------------------------------------------------------------

  #setSpeaking(change: Partial<SpeakingState>): void {
    const next = { ...this.#speaking, ...change };
    if (next.user === this.#speaking.user && next.assistant === this.#speaking.assistant) return;
    this.#speaking = next;
    this.#events.emit("speaking", this.speaking);
    if (change.assistant !== undefined) this.#call.microphone.setAssistantSpeaking(next.assistant);
  }
}

function isOfType<T extends OpenAIServerEventType>(
  event: OpenAIServerEvent,
  type: T,
): event is Extract<OpenAIServerEvent, { type: T }> {
  return event.type === type;
}
