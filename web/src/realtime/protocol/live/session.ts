import { ConversationLog, EMPTY_USAGE } from "../../conversation";
import { Emitter, type Listener } from "../../emitter";
import type { SdpExchange } from "../../exchange";
import { MediaCall, type MediaCallEventMap, type MediaCallOptions } from "../../mediaCall";
import type { AudioBytes } from "../../transport/webrtc";
import type {
  ConnectTimings,
  ConversationEntry,
  LinkState,
  MediaStreamLike,
  MicState,
  RealtimeSessionState,
  SpeakingState,
  UsageTotals,
} from "../../types";
import type { LiveServerEvent, LiveSessionHead } from "./parse";
import { LiveProtocol, type LiveClientEvent } from "./protocol";

/** Options of {@link LiveSession}. Everything that touches the world is injectable. */
export interface LiveSessionOptions extends MediaCallOptions {
  /** Posts the offer: a backend that opens the Live session with its own key (Live has no client keys). */
  exchange: SdpExchange;
}

/** Events of {@link LiveSession}, with their payloads (the call's: `mediaCall.ts`). */
export interface LiveSessionEventMap extends MediaCallEventMap<LiveClientEvent> {
  /** Every server event the protocol acts on, checked against its schema. */
  server: LiveServerEvent;
  conversation: readonly ConversationEntry[];
  /** Live reports no speech events to the page: both stay false. */
  speaking: SpeakingState;
  /** `session.started`: the session's id and model. */
  started: LiveSessionHead;
  /** Cumulative billed seconds of this session. */
  "usage-seconds": number;
  /** An `info` notice from the server. */
  info: { code: string; message: string };
}

/**
 * One GPT-Live conversation over WebRTC: the same call as `RealtimeSession`'s (`mediaCall.ts`:
 * connect steps, transport, microphone, remote audio, liveness watches), speaking Live's vocabulary
 * (`protocol.ts`). The server fixed the session before it started and lets the page send only
 * mute and unmute, so there are no tools, no typed text, no session updates and no interrupt
 * (Live has no client event that stops the assistant: speaking over it is how a user cuts in).
 * A session is used once; create a new one to reconnect.
 */
export class LiveSession {
  /** The voice API this session speaks. */
  readonly api = "live";
  readonly #events = new Emitter<LiveSessionEventMap>();
  readonly #call: MediaCall<LiveClientEvent>;
  readonly #log: ConversationLog;
  readonly #protocol: LiveProtocol;

  #started: LiveSessionHead | null = null;
  /** Live sessions start unmuted; what the page last told the server. */
  #serverMuted = false;
  #pushToTalkOpen = true;

  constructor(options: LiveSessionOptions) {
    this.#call = new MediaCall(options, {
      exchange: options.exchange,
      events: this.#events,
      receive: (data) => this.#protocol.receive(data),
      closing: () => this.#protocol.close(),
    });
    this.#log = new ConversationLog((entries) => this.#events.emit("conversation", entries));
    this.#protocol = new LiveProtocol({
      log: this.#log,
      mark: (step) => this.#call.mark(step),
      started: (session) => {
        this.#started = session;
        this.#events.emit("started", session);
      },
      usageSeconds: (seconds) => this.#events.emit("usage-seconds", seconds),
      lost: (reason) => this.#call.lost(reason),
      problem: (problem) => this.#events.emit("problem", problem),
      info: (code, message) => this.#events.emit("info", { code, message }),
      server: (event) => this.#events.emit("server", event),
    });
  }

  get state(): RealtimeSessionState {
    return this.#call.state;
  }

  /** The call id the exchange returned (the Live session's id), once known. */
  get callId(): string | null {
    return this.#call.callId;
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
    return this.#call.link;
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
    return this.#call.microphone.state;
  }

  get timings(): ConnectTimings {
    return this.#call.timings;
  }

  get localStream(): MediaStreamLike | null {
    return this.#call.localStream;
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
  connect(): Promise<void> {
    return this.#call.connect();
  }

  /**
   * Mutes or unmutes: the microphone's track sends silence (nothing of the user leaves the
   * device) and the server is told with Live's own event, so the model knows the user is
   * muted. Muted time is still billed as active time.
   */
  setMuted(muted: boolean): void {
    if (this.#call.phase === "closed") return;
    this.#call.microphone.setMuted(muted);
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
    if (this.#call.phase === "closed") return;
    this.#pushToTalkOpen = open;
    this.#call.microphone.setPushToTalkOpen(open);
    this.#syncServerMute();
  }

  getStats(): Promise<AudioBytes> {
    return this.#call.getStats();
  }

  /** Ends the session (see `RealtimeSession.dispose`). Safe to call again. */
  dispose(): void {
    this.#call.close({ kind: "client" });
  }

  /** The server hears the input only while the user is unmuted and any push-to-talk is held. */
  #syncServerMute(): void {
    const muted = this.#call.microphone.state.muted || !this.#pushToTalkOpen;
    if (muted === this.#serverMuted) return;
    this.#serverMuted = muted;
    this.#call.send({ type: muted ? "session.input_audio.mute" : "session.input_audio.unmute" });
  }
}
