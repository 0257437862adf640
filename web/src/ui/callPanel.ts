/**
 * The call's own controls: the status line, Connect / Disconnect, Mute, Interrupt (and Escape),
 * and who is speaking.
 */
import type { MicState, SpeakingState } from "../realtime";
import { byId, setHidden } from "./dom";
import type { StateView, UiState } from "./reconnectView";

/** What the panel shows. */
export interface CallPanelState {
  view: StateView;
  /** Whether the connection stalled while connected (`#state[data-link]`). */
  link: "ok" | "stalled";
  signedIn: boolean;
  /** The session has no turn detection: the user holds the talk button. */
  pushToTalk: boolean;
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
    disconnect: byId("disconnect", HTMLButtonElement),
    mute: byId("mute", HTMLButtonElement),
    interrupt: byId("interrupt", HTMLButtonElement),
    userSpeaking: byId("user-speaking", HTMLLIElement),
    assistantSpeaking: byId("assistant-speaking", HTMLLIElement),
  };
  #connected = false;
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
      if (event.key === "Escape" && this.#connected) intents.interrupt();
    });
  }

  render({ view, link, signedIn, pushToTalk }: CallPanelState): void {
    const els = this.#els;
    const busy = isBusy(view);
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
    els.connect.disabled = !signedIn || busy;
    els.connect.textContent = view.ui === "closed" ? "Reconnect" : "Connect";
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
