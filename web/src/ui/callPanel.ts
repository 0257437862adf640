/**
 * The call's own controls: the status line, Connect / Disconnect, Mute, Interrupt (and Escape),
 * and who is speaking.
 */
import type { MicState, SpeakingState } from "../realtime";
import { byId, setHidden } from "./dom";
import type { StateView } from "./reconnectView";

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
    els.mute.disabled = !this.#connected;
    els.interrupt.disabled = !this.#connected;
  }

  renderMic(mic: MicState): void {
    this.#els.mute.setAttribute("aria-pressed", String(mic.muted));
    this.#els.mute.textContent = mic.muted ? "Unmute" : "Mute";
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
