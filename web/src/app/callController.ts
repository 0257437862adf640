/*
 * The call lifecycle on the page: Connect opens a conversation (a Reconnector, which opens a
 * new call when one drops), Disconnect ends it, and each call's session is wired to the views.
 * Which backend a call goes through is the CallMode's business.
 */
import type { RealtimeTokenRequest } from "voice-contract";
import {
  isRecord,
  RealtimeConnectError,
  type LinkState,
  type ConversationEntry,
  type LiveSession,
  type MicState,
  type RealtimeSession,
  type ReconnectorState,
  type VoiceSession,
} from "../realtime";
import type { AudioView } from "../ui/audio";
import type { BannerView } from "../ui/banner";
import { isBusy, type CallPanel, type ConnectBlock } from "../ui/callPanel";
import type { DetailsView } from "../ui/details";
import { describeProblem } from "../ui/messages";
import type { MessageForm } from "../ui/messageForm";
import type { MicLevelMeter } from "../ui/meter";
import { describeGiveUp, stateView, type StateView } from "../ui/reconnectView";
import { createLocalTimeTool } from "../ui/tools";
import type { TranscriptView } from "../ui/transcript";
import type { UsageView } from "../ui/usage";
import type { SessionChoices } from "./choices";
import type { LiveLoader, LiveModule } from "./liveLoader";
import type { CallMode, ModeLoader } from "./mode";

type Live = LiveModule;
type CostView = InstanceType<Live["CostView"]>;
type Reconnector = InstanceType<Live["Reconnector"]>;
type CallPreparer = InstanceType<Live["CallPreparer"]>;

/** The views a call renders into (what the controller uses of each). */
export interface CallViews {
  panel: Pick<CallPanel, "render" | "renderMic" | "renderSpeaking">;
  banner: Pick<BannerView, "show" | "hide">;
  audio: Pick<AudioView, "unlock" | "sink" | "paused" | "setBusy">;
  meter: Pick<MicLevelMeter, "prepare" | "attach" | "detach" | "renderLive">;
  transcript: Pick<TranscriptView, "render" | "setInCall">;
  usage: Pick<UsageView, "render" | "renderSeconds" | "costCells">;
  details: Pick<
    DetailsView,
    "renderCallId" | "renderSessionId" | "renderTimings" | "renderBytes" | "renderModel"
  >;
  messages: Pick<MessageForm, "setEnabled">;
}

/** What {@link CallController} works with. */
export interface CallControllerOptions {
  mode: ModeLoader;
  live: LiveLoader;
  choices: Pick<SessionChoices, "request" | "setBusy" | "pushToTalk" | "bindTalk">;
  views: CallViews;
  /** Connect once signed in, without a click (`?connect=load`, emulator builds only). */
  connectOnLoad?: boolean;
}

/**
 * A conversation across calls, the mode its calls go through, and the session of its current
 * call (none before the first).
 */
interface OpenConversation {
  phase: "open";
  mode: CallMode;
  reconnector: Reconnector;
  session: VoiceSession | null;
}

/** The page's conversation: none yet, or an open one. */
type Conversation = { phase: "none" } | OpenConversation;

/** The page's calls: one conversation at a time, rendered into {@link CallViews}. */
export class CallController {
  readonly #mode: ModeLoader;
  readonly #live: LiveLoader;
  readonly #choices: CallControllerOptions["choices"];
  readonly #views: CallViews;
  readonly #tool = createLocalTimeTool();
  #connectOnLoad: boolean;
  #signedIn = false;
  /** Why the mode says no call can start now (spent minutes), or null. */
  #blocked: ConnectBlock | null = null;
  #conversation: Conversation = { phase: "none" };
  #view: StateView = stateView({ status: "idle" });
  #link: "ok" | "stalled" = "ok";
  /** A Disconnect the mode is still telling the server about (shown as "Disconnecting…"). */
  #hangingUp: Promise<void> | null = null;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  /** Made with the first session (its code loads with the session's). */
  #cost: CostView | null = null;
  /** A peer connection and offer made ahead of the next Connect (see #prepareCall). */
  #preparer: CallPreparer | null = null;

  constructor(options: CallControllerOptions) {
    this.#mode = options.mode;
    this.#live = options.live;
    this.#choices = options.choices;
    this.#views = options.views;
    this.#connectOnLoad = options.connectOnLoad ?? false;
  }

  /**
   * First paint. The mode's code and the session code are not needed for it, but wanted by
   * the first click (and the mode's by what is fetched ahead of it): they are fetched now,
   * then the first call's peer connection and offer are built.
   */
  start(): void {
    this.#renderState({ status: "idle" });
    void this.#mode.load();
    void this.#live.load().then((live) => live && this.#prepareCall(live));
  }

  /** Someone signed in (or nobody is): Connect follows, and what can be fetched ahead is. */
  signedIn(signedIn: boolean): void {
    this.#signedIn = signedIn;
    this.#render();
    if (!signedIn) return;
    this.#mode.use((mode) => mode.prefetch("load"));
    if (this.#connectOnLoad) {
      this.#connectOnLoad = false;
      void this.connect();
    }
  }

  /**
   * The mode says no call can start now, and why (null: one can). Connect is off and says so;
   * a call already running is left alone.
   */
  blockConnect(block: ConnectBlock | null): void {
    this.#blocked = block;
    this.#render();
  }

  async connect(): Promise<void> {
    // A banner's "Try again" or ?connect=load reach here without the (disabled) button.
    if (!this.#signedIn || isBusy(this.#view) || this.#blocked) return;
    const { audio, meter, banner, usage, transcript } = this.#views;
    // Safari and iOS let the element play later only if it is played in the gesture itself,
    // before anything is awaited (the stream is attached later): here if the session code or
    // the mode's is still loading, else right after the microphone request, which goes first.
    const unlockNow = this.#live.loaded === null || this.#mode.loaded === null;
    if (unlockNow) void audio.unlock();
    // Loaded right after the page (start()), so a click normally goes straight on: the
    // microphone request and the meter's AudioContext stay inside the click's gesture.
    const request = this.#choices.request();
    const live = this.#live.loaded ?? (await this.#live.load());
    const mode = this.#mode.loaded ?? (await this.#mode.load());
    // Another click may have started a session while the imports were finishing.
    if (!live || !mode || !this.#signedIn || isBusy(this.#view) || this.#blocked) return;
    banner.hide();
    const cost = (this.#cost ??= new live.CostView(usage.costCells.call, usage.costCells.page));
    const previous = this.#conversation.phase === "open" ? this.#conversation.reconnector : null;
    if (previous?.state.status === "gave-up") {
      // "Try again" after reconnecting gave up: the same conversation, restored into a new call.
      previous.resume();
      if (!unlockNow) void audio.unlock();
      meter.prepare();
      return;
    }
    previous?.stop();
    const reconnector: Reconnector = new live.Reconnector({
      createSession: (history) => this.#createSession(live, request, cost, conversation, history),
      classify: (reason) => mode.classify(live, reason),
      // A Live call takes the conversation so far when it is opened (priorTurns), and its page
      // may not add items on the channel.
      restore: mode.api === "live" ? "request" : "replay",
    });
    const conversation: OpenConversation = { phase: "open", mode, reconnector, session: null };
    this.#conversation = conversation;
    const current = () => this.#conversation === conversation;
    reconnector.on("state", (state) => current() && this.#renderState(state));
    reconnector.on("conversation", (entries) => current() && transcript.render(entries));

    // start() asks for the microphone and the secret before it returns; the rest of the
    // click's work (the meter's AudioContext, which must be created in this click, and the
    // new session's connection panels) is done while they are on the way.
    const connecting = reconnector.start();
    if (!unlockNow) void audio.unlock();
    meter.prepare();
    try {
      await connecting;
      // The previous conversation stays in view until this one is really there.
      if (current()) this.#renderConversationPanels(reconnector);
    } catch (error) {
      // start() rejects with nothing else.
      if (current() && error instanceof RealtimeConnectError) {
        banner.show(mode.describeConnectError(error));
      }
      // Ready for the next Connect. A call that connected prepares its successor once its
      // session has begun (#createSession).
      this.#prepareCall(live);
    }
  }

  disconnect(): void {
    this.#views.banner.hide();
    const open = this.#conversation.phase === "open" ? this.#conversation : null;
    const session = open?.session;
    const stop = () => this.#stop();
    const hangingUp = session ? open.mode.hangUp(() => session.setMuted(true), stop) : false;
    if (hangingUp) {
      this.#hangingUp = hangingUp;
      this.#render();
      void hangingUp.finally(() => {
        if (this.#hangingUp !== hangingUp) return;
        this.#hangingUp = null;
        this.#render();
      });
      return;
    }
    // Stops a pending reconnect too; a Disconnect never leads to one.
    stop();
  }

  toggleMute(): void {
    const session = this.#session();
    session?.setMuted(!session.mic.muted);
  }

  interrupt(): void {
    this.#session()?.interrupt();
  }

  /** Sends typed text to the running session; false when there is none to take it. */
  sendText(text: string): boolean {
    return this.#session()?.sendText(text) ?? false;
  }

  /** Leaving the page must release the microphone and end the billed call. */
  pageHide(): void {
    this.#mode.loaded?.pageHide();
    this.#stop();
    this.#preparer?.dispose();
  }

  #session(): VoiceSession | null {
    return this.#conversation.phase === "open" ? this.#conversation.session : null;
  }

  #stop(): void {
    if (this.#conversation.phase === "open") this.#conversation.reconnector.stop();
  }

  /**
   * Builds a peer connection and its offer for the next call while nothing waits for it, so a
   * click goes straight to the microphone and the SDP exchange. No microphone is involved:
   * it is opened by the click, and its track is put on the prepared transceiver then.
   */
  #prepareCall(live: Live): void {
    (this.#preparer ??= new live.CallPreparer()).prepare();
  }

  /**
   * One call's session, wired to the page: the conversation calls this for its first call
   * and for every reconnect (each reconnect is a new call, priced as one).
   */
  #createSession(
    live: Live,
    request: RealtimeTokenRequest,
    cost: CostView,
    conversation: OpenConversation,
    history: readonly ConversationEntry[],
  ): VoiceSession {
    cost.startCall(null);
    if (conversation.mode.api === "live") {
      // Billed seconds are per call, as the cost is: each call counts from its own zero.
      this.#views.usage.renderSeconds(0);
      return this.#createLiveSession(live, request, cost, conversation, history);
    }
    const talk = this.#choices.bindTalk((button, on) => new live.TalkButton(button, on));
    const session = new live.RealtimeSession({
      ...conversation.mode.connection(live, request, {
        resolved: (model, resolved) => {
          cost.setModel(model);
          talk.resolved(resolved);
        },
      }),
      audioElement: this.#views.audio.sink(),
      preparedCall: () => this.#preparer?.take() ?? null,
      tools: [this.#tool],
      muteStrategy: "auto",
    });
    conversation.session = session;
    talk.attach(session);
    this.#listen(session, conversation.mode, request);
    this.#listenRealtime(session, live, cost);
    this.#renderNewSession(session);
    return session;
  }

  /**
   * One GPT-Live call's session: the same minutes and views, no tools, push-to-talk as Live's
   * mute and unmute, the conversation so far sent with the request when it reconnects a
   * dropped call, and the cost from the billed seconds.
   */
  #createLiveSession(
    live: Live,
    request: RealtimeTokenRequest,
    cost: CostView,
    conversation: OpenConversation,
    history: readonly ConversationEntry[],
  ): LiveSession {
    const { mode } = conversation;
    const talk = this.#choices.bindTalk((button, on) => new live.TalkButton(button, on));
    const connection = mode.connection(
      live,
      request,
      {
        resolved: (model, resolved) => {
          cost.setModel(model);
          talk.resolved(resolved);
        },
      },
      live.priorTurnsOf(history),
    );
    if (!connection.exchange) throw new Error("A GPT-Live call needs a brokered exchange.");
    const session = new live.LiveSession({
      exchange: connection.exchange,
      audioElement: this.#views.audio.sink(),
      preparedCall: () => this.#preparer?.take() ?? null,
      muteStrategy: "auto",
    });
    conversation.session = session;
    // Push-to-talk's holds open the microphone and unmute the session with Live's events;
    // Realtime's buffer events have no Live counterpart (Live's turn taking ends the turn).
    talk.attach({
      send: () => true,
      setPushToTalkOpen: (open) => session.setPushToTalkOpen(open),
      interrupt: () => false,
      on: (type, listener) => session.on(type, listener),
    });
    this.#listen(session, mode, request);
    const { details, audio, usage } = this.#views;
    const current = () => this.#session() === session;
    session.on("started", (started) => {
      if (!current()) return;
      details.renderSessionId({
        status: "created",
        id: started.id,
        audio: audio.paused ? "paused" : "playing",
      });
      cost.setModel(started.model);
      details.renderModel(started.model, "live");
      whenIdle(() => this.#prepareCall(live));
    });
    session.on("usage-seconds", (seconds) => {
      if (!current()) return;
      cost.setLiveSeconds(seconds);
      usage.renderSeconds(seconds);
    });
    session.on("info", (info) => current() && console.info(`GPT-Live: ${info.message}`));
    this.#renderNewSession(session);
    return session;
  }

  /** Routes one session's events to the views while it is the current call's. */
  #listen(session: VoiceSession, mode: CallMode, request: RealtimeTokenRequest): void {
    const { panel, meter, details, banner } = this.#views;
    const current = () => this.#session() === session;
    session.on("state", (state) => {
      if (state.status !== "closed") return;
      const explained = mode.closed(state.reason, request);
      if (!current()) return;
      banner.show(explained);
      // The microphone goes with the call; the next call's stream attaches again.
      meter.detach();
    });
    session.on("speaking", (speaking) => current() && panel.renderSpeaking(speaking));
    session.on("mic", (mic) => current() && this.#renderMic(mic));
    session.on("timings", (timings) => current() && details.renderTimings(timings));
    session.on("link", (link) => current() && this.#renderLink(link));
    session.on("problem", (problem) => {
      if (!current()) return;
      if (problem.source === "protocol") console.warn(problem.message, problem.raw);
      if (problem.source === "audio") console.warn(problem.message);
      banner.show(describeProblem(problem));
    });
    session.on("local-stream", (stream) => current() && meter.attach(stream as MediaStream));
  }

  /** The Realtime session's own events: `session.created` and each response's usage. */
  #listenRealtime(session: RealtimeSession, live: Live, cost: CostView): void {
    const { details, audio, usage } = this.#views;
    const current = () => this.#session() === session;
    session.on("usage", (totals) => current() && usage.render(totals));
    session.onServerEvent("session.created", (event) => {
      if (!current()) return;
      // The id is not in the SDK's type for this event, but GA servers send it.
      const created: unknown = event.session;
      const id = isRecord(created) && typeof created.id === "string" ? created.id : "created";
      details.renderSessionId({
        status: "created",
        id,
        audio: audio.paused ? "paused" : "playing",
      });
      // Prices are keyed by the model the session reports; the secret's model until then.
      if (isRecord(created) && typeof created.model === "string") cost.setModel(created.model);
      // Ready for the next call (a reconnect, or the next Connect). Not sooner: a peer
      // connection and its offer hold the main thread for several ms, which between the
      // channel's open and this event delayed it (measured in bench:connect's traces).
      whenIdle(() => this.#prepareCall(live));
    });
    session.onServerEvent("response.done", (event) => {
      if (current()) cost.addResponse(event.response.usage);
    });
  }

  /**
   * Replaces the previous session's connection panels with this one's. Read from the session
   * rather than blanked by hand, so nothing it already reported can be overwritten.
   */
  #renderNewSession(session: VoiceSession): void {
    const { details } = this.#views;
    this.#renderMic(session.mic);
    details.renderTimings(session.timings);
    details.renderCallId(session.callId);
    details.renderSessionId({ status: "none" });
  }

  #renderConversationPanels(reconnector: Reconnector): void {
    this.#views.transcript.render(reconnector.conversation);
    const session = this.#session();
    if (session) this.#views.usage.render(session.usage);
  }

  #renderState(state: ReconnectorState): void {
    const { details, usage, banner, meter } = this.#views;
    if (state.status === "connected") {
      details.renderCallId(state.callId);
      // Token counts are per call: a reconnected call starts from its own.
      const session = this.#session();
      if (session) usage.render(session.usage);
    }
    if (state.status === "gave-up" && this.#conversation.phase === "open") {
      const { mode } = this.#conversation;
      banner.show(describeGiveUp(state, (error) => mode.describeConnectError(error)));
    }
    this.#view = stateView(state);
    this.#link = "ok";
    if (this.#view.ui === "connected") this.#startStats();
    else this.#stopStats();
    // No speaking reset here: a closing session reports both speakers silent before `closed`.
    if (this.#view.ui !== "connected" && this.#view.ui !== "connecting") meter.detach();
    this.#render();
  }

  #renderLink(link: LinkState): void {
    if (this.#view.ui !== "connected") return;
    this.#link = link.stalled ? "stalled" : "ok";
    this.#render();
  }

  #render(): void {
    const { panel, messages, audio, transcript } = this.#views;
    const busy = isBusy(this.#view);
    // Until the server has heard of the Disconnect, or a new Connect.
    const view: StateView =
      this.#hangingUp !== null && this.#view.ui === "idle"
        ? { ui: "disconnecting", label: "Disconnecting…", reason: "" }
        : this.#view;
    transcript.setInCall(busy);
    panel.render({
      view,
      link: this.#link,
      signedIn: this.#signedIn,
      pushToTalk: this.#choices.pushToTalk,
      blocked: this.#blocked,
    });
    this.#choices.setBusy(busy);
    messages.setEnabled(this.#view.ui === "connected");
    audio.setBusy(busy);
  }

  #renderMic(mic: MicState): void {
    this.#views.panel.renderMic(mic);
    this.#views.meter.renderLive(mic.live);
  }

  #startStats(): void {
    if (this.#statsTimer !== undefined) return;
    const poll = async () => {
      const session = this.#session();
      if (!session) return;
      const stats = await session.getStats().catch(() => null);
      if (!stats || session !== this.#session()) return;
      this.#views.details.renderBytes(stats.inboundAudioBytes, stats.outboundAudioBytes);
    };
    this.#statsTimer = setInterval(() => void poll(), 1000);
    void poll();
  }

  #stopStats(): void {
    clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
  }
}

/**
 * Runs `work` when the page is next idle (at most `timeoutMs` later): `requestIdleCallback`
 * where there is one (Safari has none: a timer there).
 */
function whenIdle(work: () => void, timeoutMs = 1_000): void {
  if (typeof requestIdleCallback === "function") requestIdleCallback(work, { timeout: timeoutMs });
  else setTimeout(work, timeoutMs);
}
