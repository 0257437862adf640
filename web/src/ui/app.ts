import { onAuthStateChanged, type User } from "firebase/auth";
import type {
  RealtimeTokenRequest,
  RealtimeTokenResponse,
  SessionChoiceOptions,
} from "voice-contract";
import type { AppConfig } from "../config";
import { signInAsGuest, signInWithGoogle, signOutUser, type FirebaseServices } from "../firebase";
import {
  AudioUnlock,
  RealtimeConnectError,
  type RealtimeSession,
  isRecord,
  isSecretRejected,
  type AudioPlayback,
  type AudioSinkLike,
  type CloseReason,
  type ConnectTimings,
  type DropClass,
  type LinkState,
  type MicState,
  type ReconnectorState,
  type SessionProblem,
  type SpeakingState,
  type UsageTotals,
} from "../realtime";
import type { CachedTokenProvider } from "../backend";
import { byId, formatBytes, formatCount, setHidden } from "./dom";
import {
  describeAuthError,
  describeConnectError,
  type BannerAction,
  type BannerContent,
} from "./messages";
import { MicLevelMeter } from "./meter";
import { describeGiveUp, stateView, type UiState } from "./reconnectView";
import type { TalkRequest } from "./talkChoices";
import { TalkControls, type TalkBinding } from "./talkControls";
import { createLocalTimeTool } from "./tools";
import { TranscriptView } from "./transcript";
import type * as Live from "./live";

type LiveModule = typeof Live;

/** What the UI needs from the outside world. */
export interface AppDependencies {
  config: AppConfig;
  firebase: FirebaseServices;
  tokens: CachedTokenProvider;
  /** Connect once signed in, without a click (`?connect=load`, emulator builds only). */
  connectOnLoad?: boolean;
  /** Preselected turn-taking and noise choices (`?turnDetection=…`, emulator builds only). */
  talk?: TalkRequest;
}

const ACTION_LABELS: Record<Exclude<BannerAction, null>, string> = {
  retry: "Try again",
  reload: "Reload page",
  "sign-in": "Sign in again",
  "enable-audio": "Enable audio",
};

/** The voice app: wires the DOM in `index.html` to Firebase, the token provider and sessions. */
export class VoiceApp {
  readonly #deps: AppDependencies;
  readonly #els = {
    authStatus: byId("auth-status", HTMLElement),
    signInGoogle: byId("sign-in-google", HTMLButtonElement),
    signOut: byId("sign-out", HTMLButtonElement),
    banner: byId("banner", HTMLDivElement),
    bannerMessage: byId("banner-message", HTMLParagraphElement),
    bannerAction: byId("banner-action", HTMLButtonElement),
    bannerDismiss: byId("banner-dismiss", HTMLButtonElement),
    state: byId("state", HTMLElement),
    connect: byId("connect", HTMLButtonElement),
    disconnect: byId("disconnect", HTMLButtonElement),
    voice: byId("voice", HTMLSelectElement),
    mute: byId("mute", HTMLButtonElement),
    interrupt: byId("interrupt", HTMLButtonElement),
    micLevel: byId("mic-level", HTMLDivElement),
    userSpeaking: byId("user-speaking", HTMLLIElement),
    assistantSpeaking: byId("assistant-speaking", HTMLLIElement),
    transcript: byId("transcript", HTMLOListElement),
    transcriptEmpty: byId("transcript-empty", HTMLParagraphElement),
    textForm: byId("text-form", HTMLFormElement),
    textInput: byId("text-input", HTMLInputElement),
    sendText: byId("send-text", HTMLButtonElement),
    usageResponses: byId("usage-responses", HTMLElement),
    usageInput: byId("usage-input-tokens", HTMLElement),
    usageOutput: byId("usage-output-tokens", HTMLElement),
    usageTotal: byId("usage-total-tokens", HTMLElement),
    usageAudio: byId("usage-audio-tokens", HTMLElement),
    costCall: byId("cost-call", HTMLElement),
    costPage: byId("cost-page", HTMLElement),
    quota: byId("quota-remaining", HTMLElement),
    model: byId("model", HTMLElement),
    callId: byId("call-id", HTMLElement),
    sessionId: byId("session-id", HTMLElement),
    tokenFetches: byId("token-fetches", HTMLElement),
    tokenSource: byId("token-source", HTMLElement),
    bytesIn: byId("bytes-in", HTMLElement),
    bytesOut: byId("bytes-out", HTMLElement),
    timings: byId("connect-timings", HTMLPreElement),
    remoteAudio: byId("remote-audio", HTMLAudioElement),
    tapToHear: byId("tap-to-hear", HTMLButtonElement),
    quotaRow: byId("quota-row", HTMLDivElement),
    minutesRow: byId("minutes-row", HTMLDivElement),
    minutesLeft: byId("minutes-left", HTMLElement),
    callClock: byId("call-clock", HTMLElement),
    callWarning: byId("call-warning", HTMLElement),
  };
  readonly #transcript = new TranscriptView(this.#els.transcript, this.#els.transcriptEmpty);
  readonly #meter = new MicLevelMeter(this.#els.micLevel);
  readonly #localTimeTool = createLocalTimeTool();
  /** Turn-taking and noise pickers; the push-to-talk button of a session without turn detection. */
  readonly #talk: TalkControls;
  /** The assistant's audio element under autoplay policies (Safari, iOS): see #connect. */
  readonly #audio = new AudioUnlock(this.#els.remoteAudio, (state) => this.#renderPlayback(state));

  #user: User | null = null;
  #session: RealtimeSession | null = null;
  /** The conversation across calls: it opens #session, and a new one when a call drops. */
  #conversation: Live.Reconnector | null = null;
  #uiState: UiState = "idle";
  #bannerAction: BannerAction = null;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #defaultVoice: string | null = null;
  #connectedOnLoad = false;
  /** The session code, once its lazy import has finished (see {@link #loadLive}). */
  #live: LiveModule | null = null;
  #liveLoading: Promise<LiveModule> | undefined;
  /** Made with the first session (its code loads with the session's). */
  #cost: Live.CostView | null = null;
  /** A peer connection and offer made ahead of the next Connect (see #prepareCall). */
  #preparer: Live.CallPreparer | null = null;
  /** Brokered mode's open call and minutes; made with the first brokered Connect. */
  #brokered: Live.BrokeredCalls | null = null;
  /** How the last brokered close is classified for reconnecting, when the page knows better. */
  #brokeredDrop: { reason: CloseReason; drop: DropClass } | null = null;

  constructor(deps: AppDependencies) {
    this.#deps = deps;
    this.#talk = new TalkControls(() => this.#prefetch("choice"), deps.talk);
  }

  start(): void {
    const { auth } = this.#deps.firebase;
    const els = this.#els;
    this.#renderState({ status: "idle" });
    const brokered = this.#deps.config.mode === "brokered";
    setHidden(els.quotaRow, brokered);
    setHidden(els.minutesRow, !brokered);
    // Not needed for the first paint, but wanted by the first click: fetch it now, then
    // build the first call's peer connection and offer.
    void this.#loadLive().then((live) => live && this.#prepareCall(live));

    onAuthStateChanged(auth, (user) => this.#onUser(user));
    this.#deps.tokens.onResponse((response, request) => this.#onTokenResponse(response, request));

    els.connect.addEventListener("click", () => void this.#connect());
    els.disconnect.addEventListener("click", () => this.#disconnect());
    els.mute.addEventListener("click", () => this.#toggleMute());
    els.interrupt.addEventListener("click", () => this.#session?.interrupt());
    els.tapToHear.addEventListener("click", () => void this.#audio.play());
    els.textForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#sendText();
    });
    els.voice.addEventListener("change", () => this.#prefetch("choice"));
    els.signInGoogle.addEventListener("click", () => void this.#signInWithGoogle());
    els.signOut.addEventListener("click", () => void this.#signOut());
    els.bannerDismiss.addEventListener("click", () => this.#hideBanner());
    els.bannerAction.addEventListener("click", () => this.#runBannerAction());
    for (const type of ["pointerenter", "focus"] as const) {
      els.connect.addEventListener(type, () => this.#prefetch("intent"));
    }
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.#uiState === "connected") {
        this.#session?.interrupt();
      }
    });
    // Leaving the page must release the microphone and end the billed call.
    window.addEventListener("pagehide", () => {
      this.#brokered?.pageHide();
      this.#conversation?.stop();
      this.#preparer?.dispose();
    });
  }

  // ---- auth ----------------------------------------------------------------------------

  #onUser(user: User | null): void {
    const els = this.#els;
    if (this.#user && user?.uid !== this.#user.uid) {
      // Secrets count against the user who minted them; a new user mints their own.
      this.#deps.tokens.invalidate();
    }
    this.#user = user;
    if (!user) {
      els.authStatus.dataset.auth = "pending";
      els.authStatus.textContent = "Signing in…";
      setHidden(els.signInGoogle, true);
      setHidden(els.signOut, true);
      this.#renderControls();
      signInAsGuest(this.#deps.firebase.auth).catch((error: unknown) => {
        els.authStatus.dataset.auth = "error";
        els.authStatus.textContent = "Not signed in";
        setHidden(els.signInGoogle, false);
        this.#showBanner(describeAuthError(error));
      });
      return;
    }
    const name = user.displayName ?? user.email ?? "your account";
    els.authStatus.dataset.auth = user.isAnonymous ? "anonymous" : "google";
    els.authStatus.textContent = user.isAnonymous ? "Guest" : `Signed in as ${name}`;
    setHidden(els.signInGoogle, !user.isAnonymous);
    setHidden(els.signOut, user.isAnonymous);
    this.#renderControls();
    this.#prefetch("load");
    if (this.#deps.connectOnLoad && !this.#connectedOnLoad) {
      this.#connectedOnLoad = true;
      void this.#connect();
    }
  }

  async #signInWithGoogle(): Promise<void> {
    try {
      await signInWithGoogle(this.#deps.firebase.auth);
    } catch (error) {
      this.#showBanner(describeAuthError(error));
    }
  }

  async #signOut(): Promise<void> {
    this.#disconnect();
    await signOutUser(this.#deps.firebase.auth);
  }

  // ---- tokens --------------------------------------------------------------------------

  /** The user's choices, sent with the mint (and the same in a brokered `realtimeCall`). */
  #tokenRequest(): RealtimeTokenRequest {
    const voice = this.#els.voice.value;
    return { ...(voice ? { voice } : {}), ...this.#talk.request() };
  }

  #prefetch(trigger: "load" | "intent" | "choice"): void {
    const mode = this.#deps.config.tokenPrefetch;
    // Brokered calls need no secret; what they fetch ahead is the user's minutes.
    if (this.#deps.config.mode === "brokered") {
      if (trigger !== "choice") this.#prepareBrokered();
      return;
    }
    if (!this.#user || mode === "off" || (trigger !== "choice" && trigger !== mode)) return;
    void this.#deps.tokens.prefetch(this.#tokenRequest()).then(() => this.#renderTokenStats());
  }

  /**
   * Brokered mode, signed in: shows the user's minutes and fills the pickers before the first
   * Connect; the same request readies the click's `realtimeCall` (BrokeredCalls.prepare).
   */
  #prepareBrokered(): void {
    const uid = this.#user?.uid;
    if (uid === undefined) return;
    void this.#loadLive().then(async (live) => {
      if (!live) return;
      const prepared = await this.#brokeredCalls(live).prepare(uid);
      if (prepared === null || this.#user?.uid !== uid) return;
      this.#els.model.textContent = prepared.model;
      this.#renderChoices(prepared.choices, this.#tokenRequest(), prepared.choices.defaults.voice);
    });
  }

  async #getToken(
    request: RealtimeTokenRequest,
    cost: Live.CostView,
    talk: TalkBinding,
  ): Promise<string> {
    try {
      const { response, source } = await this.#deps.tokens.get(request);
      this.#els.tokenSource.textContent = source;
      this.#els.model.textContent = response.model;
      cost.setModel(response.model);
      talk.resolved(response.session);
      return response.token;
    } finally {
      this.#renderTokenStats();
    }
  }

  #onTokenResponse(response: RealtimeTokenResponse, request: RealtimeTokenRequest): void {
    this.#renderChoices(response.choices, request, response.session.voice);
    const { remaining, limit } = response.quota;
    this.#els.quota.textContent = `${formatCount(remaining)} of ${formatCount(limit)}`;
    this.#els.model.textContent = response.model;
    this.#renderTokenStats();
  }

  /** The pickers, from what the server accepts (a mint's or a brokered call's `choices`). */
  #renderChoices(
    choices: SessionChoiceOptions,
    request: RealtimeTokenRequest,
    voice: string,
  ): void {
    if (!request.voice) this.#defaultVoice = voice;
    this.#renderVoices(choices.voices);
    this.#talk.renderChoices(choices);
  }

  #renderVoices(voices: readonly string[]): void {
    const select = this.#els.voice;
    const selected = select.value;
    const defaultLabel = this.#defaultVoice ? `Default (${this.#defaultVoice})` : "Default voice";
    const current = [...select.options].map((option) => `${option.value}:${option.text}`);
    const wanted = [`:${defaultLabel}`, ...voices.map((voice) => `${voice}:${voice}`)];
    // Rebuilding an unchanged list would close the dropdown under the user's pointer.
    if (current.join("\n") === wanted.join("\n")) return;
    const options = [
      new Option(defaultLabel, ""),
      ...voices.map((voice) => new Option(voice, voice)),
    ];
    select.replaceChildren(...options);
    select.value = voices.includes(selected) ? selected : "";
  }

  #renderTokenStats(): void {
    this.#els.tokenFetches.textContent = String(this.#deps.tokens.fetchCount);
  }

  // ---- session -------------------------------------------------------------------------

  /**
   * Starts (once) and awaits the import of the lazily loaded session code; null, with a
   * banner, when it cannot be loaded.
   */
  async #loadLive(): Promise<LiveModule | null> {
    this.#liveLoading ??= import("./live").then((live) => (this.#live = live));
    try {
      return await this.#liveLoading;
    } catch {
      // The next Connect tries the import again; the banner also offers a reload.
      this.#liveLoading = undefined;
      this.#showBanner({
        kind: "app-load",
        message: "Part of the app could not be loaded. Check your connection and reload.",
        action: "reload",
      });
      return null;
    }
  }

  #busy(): boolean {
    return (
      this.#uiState === "connecting" ||
      this.#uiState === "connected" ||
      this.#uiState === "reconnecting"
    );
  }

  async #connect(): Promise<void> {
    if (!this.#user || this.#busy()) return;
    // Safari and iOS let the element play later only if it is played in the gesture itself,
    // before anything is awaited (the stream is attached later): here if the session code is
    // still loading, else right after the microphone request, which goes first.
    const unlockNow = this.#live === null;
    if (unlockNow) void this.#audio.unlock();
    // Loaded right after the page (start()), so a click normally goes straight on: the
    // microphone request and the meter's AudioContext stay inside the click's gesture.
    const request = this.#tokenRequest();
    const live = this.#live ?? (await this.#loadLive());
    // Another click may have started a session while the import was finishing.
    if (!live || !this.#user || this.#busy()) return;
    this.#hideBanner();
    const cost = (this.#cost ??= new live.CostView(this.#els.costCall, this.#els.costPage));
    const previous = this.#conversation;
    if (previous?.state.status === "gave-up") {
      // "Try again" after reconnecting gave up: the same conversation, restored into a new call.
      previous.resume();
      if (!unlockNow) void this.#audio.unlock();
      this.#meter.prepare();
      return;
    }
    previous?.stop();
    const conversation = new live.Reconnector({
      createSession: () => this.#createSession(live, request, cost),
      classify: (reason) =>
        this.#brokeredDrop?.reason === reason
          ? this.#brokeredDrop.drop
          : live.classifyDrop(reason, live.tokenDropClass),
    });
    this.#conversation = conversation;
    const current = () => this.#conversation === conversation;
    conversation.on("state", (state) => current() && this.#renderState(state));
    conversation.on("conversation", (entries) => current() && this.#transcript.render(entries));

    // start() asks for the microphone and the secret before it returns; the rest of the
    // click's work (the meter's AudioContext, which must be created in this click, and the
    // new session's connection panels) is done while they are on the way.
    const connecting = conversation.start();
    if (!unlockNow) void this.#audio.unlock();
    this.#meter.prepare();
    try {
      await connecting;
      // The previous conversation stays in view until this one is really there.
      if (current()) this.#renderConversationPanels(conversation);
    } catch (error) {
      // start() rejects with nothing else.
      if (current() && error instanceof RealtimeConnectError) {
        this.#showBanner(this.#describeConnectError(error));
      }
      // Ready for the next Connect. A call that connected prepares its successor once its
      // session has begun (#createSession).
      this.#prepareCall(live);
    }
  }

  /**
   * Builds a peer connection and its offer for the next call while nothing waits for it, so a
   * click goes straight to the microphone and the SDP exchange. No microphone is involved:
   * it is opened by the click, and its track is put on the prepared transceiver then.
   */
  #prepareCall(live: LiveModule): void {
    (this.#preparer ??= new live.CallPreparer()).prepare();
  }

  /**
   * One call's session, wired to the page: the conversation calls this for its first call
   * and for every reconnect (each reconnect is a new call, priced as one).
   */
  #createSession(live: LiveModule, request: RealtimeTokenRequest, cost: Live.CostView) {
    cost.startCall(null);
    const talk = this.#talk.bind((button, on) => new live.TalkButton(button, on));
    const exchange =
      this.#deps.config.mode === "brokered"
        ? this.#brokeredCalls(live).exchange(request, (opened) => {
            cost.setModel(opened.model);
            this.#els.model.textContent = opened.model;
            talk.resolved(opened.session);
            this.#renderChoices(opened.choices, request, opened.session.voice);
          })
        : null;
    const session = new live.RealtimeSession({
      ...(exchange
        ? { exchange }
        : {
            getToken: () => this.#getToken(request, cost, talk),
            callsUrl: this.#deps.config.openaiCallsUrl,
          }),
      audioElement: this.#audioSink(),
      preparedCall: () => this.#preparer?.take() ?? null,
      tools: [this.#localTimeTool],
      muteStrategy: "auto",
    });
    this.#session = session;
    talk.attach(session);

    const current = () => this.#session === session;
    session.on("state", (state) => {
      if (state.status !== "closed") return;
      // OpenAI refused the secret (expired early, revoked): the next attempt needs a new one.
      if (state.reason.kind === "connect-failed" && isSecretRejected(state.reason.error)) {
        this.#deps.tokens.invalidate(request);
      }
      // Ends a brokered call on the server (before a reconnect reserves the next one); a call
      // the server hung up at its deadline, or one the user's Disconnect is hanging up, is
      // not reconnected.
      const brokered = this.#brokered?.closed(state.reason);
      if (brokered?.byUser || brokered?.banner) {
        this.#brokeredDrop = {
          reason: state.reason,
          drop: brokered.byUser ? { kind: "user" } : { kind: "ended" },
        };
      }
      if (!current()) return;
      if (brokered?.banner) this.#showBanner(brokered.banner);
      // The microphone goes with the call; the next call's stream attaches again.
      this.#meter.detach();
    });
    session.on("speaking", (speaking) => current() && this.#renderSpeaking(speaking));
    session.on("mic", (mic) => current() && this.#renderMic(mic));
    session.on("usage", (usage) => current() && this.#renderUsage(usage));
    session.on("timings", (timings) => current() && this.#renderTimings(timings));
    session.on("link", (link) => current() && this.#renderLink(link));
    session.on("problem", (problem) => current() && this.#onProblem(problem));
    session.on("local-stream", (stream) => current() && this.#meter.attach(stream as MediaStream));
    session.onServerEvent("session.created", (event) => {
      if (!current()) return;
      // The id is not in the SDK's type for this event, but GA servers send it.
      const created: unknown = event.session;
      const id = isRecord(created) && typeof created.id === "string" ? created.id : "created";
      this.#els.sessionId.textContent = id;
      this.#els.sessionId.dataset.created = "true";
      // Whether the assistant could already be heard when the session began (tests read it).
      this.#els.sessionId.dataset.audio = this.#els.remoteAudio.paused ? "paused" : "playing";
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
    this.#renderNewSession(session);
    return session;
  }

  /** A brokered refusal's banner (out of minutes, not served), else the generic one. */
  #describeConnectError(error: RealtimeConnectError): BannerContent | null {
    return this.#brokered?.describeConnectError(error) ?? describeConnectError(error);
  }

  #brokeredCalls(live: LiveModule): Live.BrokeredCalls {
    const els = this.#els;
    return (this.#brokered ??= new live.BrokeredCalls({
      config: this.#deps.config,
      firebase: this.#deps.firebase,
      elements: { left: els.minutesLeft, clock: els.callClock, warning: els.callWarning },
      onNotice: (banner) => this.#showBanner(banner),
    }));
  }

  /**
   * Replaces the previous session's connection panels with this one's. Read from the session
   * rather than blanked by hand, so nothing it already reported can be overwritten.
   */
  #renderNewSession(session: RealtimeSession): void {
    this.#renderMic(session.mic);
    this.#renderTimings(session.timings);
    this.#els.callId.textContent = session.callId ?? "–";
    this.#els.sessionId.textContent = "–";
    this.#els.sessionId.dataset.created = "false";
  }

  #renderConversationPanels(conversation: Live.Reconnector): void {
    this.#transcript.render(conversation.conversation);
    if (this.#session) this.#renderUsage(this.#session.usage);
  }

  /**
   * The audio element as the session sees it: the session's play() goes through the unlock,
   * so a refusal shows the tap control; only a failure other than the autoplay policy reaches
   * the session (and its `problem` event).
   */
  #audioSink(): AudioSinkLike {
    const element = this.#els.remoteAudio;
    const audio = this.#audio;
    return {
      get srcObject(): unknown {
        return element.srcObject;
      },
      set srcObject(stream: unknown) {
        element.srcObject = stream as MediaStream | null;
      },
      async play(): Promise<void> {
        const state = await audio.play();
        if (state.status === "failed") throw new Error(state.message);
      },
    };
  }

  #disconnect(): void {
    this.#hideBanner();
    const session = this.#session;
    if (session && this.#brokered?.hasOpenCall) {
      // The server hangs up first, so upstream ends the call and the refund is exact; the
      // close that follows is the user's (BrokeredCalls.closed), so it is not reconnected.
      // A second press does not wait: #brokered no longer has an open call then.
      session.setMuted(true);
      void this.#brokered.hangUp(() => this.#conversation?.stop());
      return;
    }
    // Stops a pending reconnect too; a Disconnect never leads to one.
    this.#conversation?.stop();
  }

  #toggleMute(): void {
    const session = this.#session;
    if (!session) return;
    session.setMuted(!session.mic.muted);
  }

  #sendText(): void {
    const input = this.#els.textInput;
    if (this.#session?.sendText(input.value)) input.value = "";
    input.focus();
  }

  #onProblem(problem: SessionProblem): void {
    switch (problem.source) {
      case "server":
        this.#showBanner({
          kind: "openai-error",
          message: `OpenAI reported a problem: ${problem.error.message}`,
          action: null,
        });
        break;
      case "audio":
        // A refusal by the autoplay policy shows the tap control instead (#renderPlayback).
        console.warn(problem.message);
        this.#showBanner({
          kind: "autoplay",
          message: "The assistant's audio could not be played. Press Enable audio to try again.",
          action: "enable-audio",
        });
        break;
      case "protocol":
        console.warn(problem.message, problem.raw);
        break;
    }
  }

  // ---- rendering -----------------------------------------------------------------------

  #renderState(state: ReconnectorState): void {
    const els = this.#els;
    const view = stateView(state);
    if (state.status === "connected") {
      els.callId.textContent = state.callId ?? "–";
      // Token counts are per call: a reconnected call starts from its own.
      if (this.#session) this.#renderUsage(this.#session.usage);
    }
    if (state.status === "gave-up") {
      this.#showBanner(describeGiveUp(state, (error) => this.#describeConnectError(error)));
    }
    this.#uiState = view.ui;
    els.state.dataset.state = view.ui;
    els.state.dataset.link = "ok";
    els.state.dataset.reason = view.reason;
    els.state.textContent = view.ui === "connected" ? this.#connectedLabel() : view.label;

    if (view.ui === "connected") this.#startStats();
    else this.#stopStats();
    // No speaking reset here: a closing session reports both speakers silent before `closed`.
    if (view.ui !== "connected" && view.ui !== "connecting") this.#meter.detach();
    this.#renderControls();
  }

  #renderLink(link: LinkState): void {
    const els = this.#els;
    if (this.#uiState !== "connected") return;
    els.state.dataset.link = link.stalled ? "stalled" : "ok";
    els.state.textContent = link.stalled ? "Connection interrupted…" : this.#connectedLabel();
  }

  #connectedLabel(): string {
    return this.#talk.pushToTalk ? "Connected — hold to talk" : "Connected — start talking";
  }

  #renderControls(): void {
    const els = this.#els;
    const busy = this.#busy();
    const connected = this.#uiState === "connected";
    els.connect.disabled = !this.#user || busy;
    els.connect.textContent = this.#uiState === "closed" ? "Reconnect" : "Connect";
    setHidden(els.connect, busy, els.disconnect);
    setHidden(els.disconnect, !busy, els.connect);
    if (busy && document.activeElement === document.body) els.disconnect.focus();
    els.voice.disabled = busy;
    this.#talk.setBusy(busy);
    els.mute.disabled = !connected;
    els.interrupt.disabled = !connected;
    els.textInput.disabled = !connected;
    els.sendText.disabled = !connected;
    setHidden(els.tapToHear, !busy || this.#audio.state.status !== "blocked");
  }

  #renderPlayback(state: AudioPlayback): void {
    this.#els.remoteAudio.dataset.playback = state.status;
    if (state.status === "blocked") {
      const when = this.#els.remoteAudio.srcObject
        ? "with the stream attached"
        : "before the stream";
      console.info(`The browser blocked the assistant's audio (${when}): showing the tap control.`);
    }
    this.#renderControls();
  }

  #renderSpeaking(speaking: SpeakingState): void {
    for (const [element, active] of [
      [this.#els.userSpeaking, speaking.user],
      [this.#els.assistantSpeaking, speaking.assistant],
    ] as const) {
      element.dataset.active = String(active);
      const state = element.querySelector(".speaker-state");
      if (state) state.textContent = active ? ", speaking" : ", silent";
    }
  }

  #renderMic(mic: MicState): void {
    const els = this.#els;
    els.mute.setAttribute("aria-pressed", String(mic.muted));
    els.mute.textContent = mic.muted ? "Unmute" : "Mute";
    els.micLevel.dataset.live = String(mic.live);
  }

  #renderUsage(usage: UsageTotals): void {
    const els = this.#els;
    els.usageResponses.textContent = formatCount(usage.responses);
    els.usageInput.textContent = formatCount(usage.inputTokens);
    els.usageOutput.textContent = formatCount(usage.outputTokens);
    els.usageTotal.textContent = formatCount(usage.totalTokens);
    els.usageAudio.textContent = `${formatCount(usage.inputAudioTokens)} / ${formatCount(usage.outputAudioTokens)}`;
  }

  #renderTimings(timings: ConnectTimings): void {
    this.#els.timings.textContent = JSON.stringify(timings, null, 2);
  }

  #startStats(): void {
    if (this.#statsTimer !== undefined) return;
    const poll = async () => {
      const session = this.#session;
      if (!session) return;
      const stats = await session.getStats().catch(() => null);
      if (!stats || session !== this.#session) return;
      this.#els.bytesIn.dataset.bytes = String(stats.inboundAudioBytes);
      this.#els.bytesIn.textContent = formatBytes(stats.inboundAudioBytes);
      this.#els.bytesOut.dataset.bytes = String(stats.outboundAudioBytes);
      this.#els.bytesOut.textContent = formatBytes(stats.outboundAudioBytes);
    };
    this.#statsTimer = setInterval(() => void poll(), 1000);
    void poll();
  }

  #stopStats(): void {
    clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
  }

  // ---- banner --------------------------------------------------------------------------

  #showBanner(content: BannerContent | null): void {
    if (!content) return;
    const els = this.#els;
    els.banner.dataset.kind = content.kind;
    els.bannerMessage.textContent = content.message;
    this.#bannerAction = content.action;
    els.bannerAction.hidden = content.action === null;
    els.bannerAction.textContent = content.action ? ACTION_LABELS[content.action] : "";
    els.banner.hidden = false;
  }

  #hideBanner(): void {
    this.#els.banner.hidden = true;
    this.#els.banner.dataset.kind = "";
    this.#bannerAction = null;
  }

  #runBannerAction(): void {
    const action = this.#bannerAction;
    this.#hideBanner();
    switch (action) {
      case "retry":
        void this.#connect();
        break;
      case "reload":
        location.reload();
        break;
      case "sign-in":
        void signInAsGuest(this.#deps.firebase.auth).catch((error: unknown) =>
          this.#showBanner(describeAuthError(error)),
        );
        break;
      case "enable-audio":
        void this.#audio.play();
        break;
      case null:
        break;
    }
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
