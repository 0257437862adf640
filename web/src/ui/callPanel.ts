/**
 * The call's own controls: the status line, Connect / Disconnect, Mute, Interrupt (and Escape),
 * and who is speaking.
 */
import type { MicState, SpeakingState } from "../realtime";
import type { VoiceApi } from "voice-contract";
import { byId, setHidden } from "./dom";
import type { StateView, UiState } from "./reconnectView";

/**
 * Why Connect is off while nothing runs (brokered mode: a spent minute budget), shown under it
 * (`#connect-hint`, its `data-reason`).
 */
export interface ConnectBlock {
  reason: string;
  /** What is spent and when it comes back. */
  message: string;
}

/** What the panel shows. */
export interface CallPanelState {
  view: StateView;
  /** Whether the connection stalled while connected (`#state[data-link]`). */
  link: "ok" | "stalled";
  signedIn: boolean;
  /** The session has no turn detection: the user holds the talk button. */
  pushToTalk: boolean;
  /** Connect is off for this reason; null when a call may start. */
  blocked: ConnectBlock | null;
}

/** How the Connect button and the hint under it look in `state`. */
export interface ConnectControl {
  disabled: boolean;
  label: "Connect" | "Reconnect";
  /** The hint under the button; null hides it. */
  hint: ConnectBlock | null;
}

/**
 * Connect is off while signed out, while a call runs, and while blocked, and then says why.
 * "Reconnect" is offered after a call that closed, unless what closed it blocks the next.
 */
export function connectControl(state: Omit<CallPanelState, "link">): ConnectControl {
  const busy = isBusy(state.view);
  const hint = busy ? null : state.blocked;
  return {
    disabled: !state.signedIn || busy || hint !== null,
    label: state.view.ui === "closed" && hint === null ? "Reconnect" : "Connect",
    hint,
  };
}

/** What the user asks of the call. */
export interface CallIntents {
  connect(): void;
  disconnect(): void;
  toggleMute(): void;
  interrupt(): void;
  /** The pointer or focus is on Connect: a click may follow. */
  connectIntent(): void;
}

/** What the Mute button shows. */
export interface MuteButton {
  label: "Mute" | "Unmute";
  pressed: boolean;
  disabled: boolean;
}

/**
 * The Mute button: the user's choice while a call is connected; otherwise a disabled "Mute",
 * whatever the last call's microphone was left at (a Disconnect mutes it before the hang-up,
 * which must not leave "Unmute" behind for the next call).
 */
export function muteButton(ui: UiState, mic: MicState): MuteButton {
  if (ui !== "connected") return { label: "Mute", pressed: false, disabled: true };
  return { label: mic.muted ? "Unmute" : "Mute", pressed: mic.muted, disabled: false };
}

/** Whether a call is on its way, running or being reopened (Disconnect is shown then). */
export function isBusy(view: StateView): boolean {
  return view.ui === "connecting" || view.ui === "connected" || view.ui === "reconnecting";
}

/** Renders {@link CallPanelState}, the mic and the speakers; reports {@link CallIntents}. */
export class CallPanel {
  readonly #els = {
    state: byId("state", HTMLElement),
    connect: byId("connect", HTMLButtonElement),
    connectHint: byId("connect-hint", HTMLElement),
    disconnect: byId("disconnect", HTMLButtonElement),
    mute: byId("mute", HTMLButtonElement),
    interrupt: byId("interrupt", HTMLButtonElement),
    userSpeaking: byId("user-speaking", HTMLLIElement),
    assistantSpeaking: byId("assistant-speaking", HTMLLIElement),
    speakers: byId("speakers", HTMLUListElement),
  };
  #connected = false;
  #canInterrupt = true;
  #ui: UiState = "idle";
  #mic: MicState = { muted: false, live: false };

  listen(intents: CallIntents): void {
    const els = this.#els;
    els.connect.addEventListener("click", () => intents.connect());
    els.disconnect.addEventListener("click", () => intents.disconnect());
    els.mute.addEventListener("click", () => intents.toggleMute());
    els.interrupt.addEventListener("click", () => intents.interrupt());
    for (const type of ["pointerenter", "focus"] as const) {
      els.connect.addEventListener(type, () => intents.connectIntent());
    }
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.#connected && this.#canInterrupt) intents.interrupt();
    });
  }

  /**
   * The controls of the API the page's calls run on. GPT-Live has no client event that stops
   * the assistant (a user cuts in by speaking, and the server's turn taking yields), so
   * Interrupt and its Escape key are not offered on Live calls. Nor are the speaking lights:
   * Live sends the page transcripts but no event for when speech starts or stops.
   */
  showControlsOf(api: VoiceApi): void {
    this.#canInterrupt = api === "realtime";
    this.#els.interrupt.hidden = !this.#canInterrupt;
    this.#els.speakers.hidden = api !== "realtime";
  }

  render(state: CallPanelState): void {
    const { view, link, pushToTalk } = state;
    const els = this.#els;
    const busy = isBusy(view);
    const connect = connectControl(state);
    this.#connected = view.ui === "connected";
    els.state.dataset.state = view.ui;
    els.state.dataset.link = link;
    els.state.dataset.reason = view.reason;
    els.state.textContent = !this.#connected
      ? view.label
      : link === "stalled"
        ? "Connection interrupted…"
        : pushToTalk
          ? "Connected — hold to talk"
          : "Connected — start talking";
    els.connect.disabled = connect.disabled;
    els.connect.textContent = connect.label;
    els.connectHint.hidden = connect.hint === null;
    els.connectHint.textContent = connect.hint?.message ?? "";
    els.connectHint.dataset.reason = connect.hint?.reason ?? "";
    setHidden(els.connect, busy, els.disconnect);
    setHidden(els.disconnect, !busy, els.connect);
    if (busy && document.activeElement === document.body) els.disconnect.focus();
    els.interrupt.disabled = !this.#connected;
    this.#ui = view.ui;
    this.#renderMute();
  }

  renderMic(mic: MicState): void {
    this.#mic = mic;
    this.#renderMute();
  }

  #renderMute(): void {
    const mute = this.#els.mute;
    const { label, pressed, disabled } = muteButton(this.#ui, this.#mic);
    mute.disabled = disabled;
    mute.setAttribute("aria-pressed", String(pressed));
    mute.textContent = label;
  }

  renderSpeaking(speaking: SpeakingState): void {
    for (const [element, active] of [
      [this.#els.userSpeaking, speaking.user],
      [this.#els.assistantSpeaking, speaking.assistant],
    ] as const) {
      element.dataset.active = String(active);
      const state = element.querySelector(".speaker-state");
      if (state) state.textContent = active ? ", speaking" : ", silent";
    }
  }
}
