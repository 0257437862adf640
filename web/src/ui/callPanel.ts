/**
 * The call's own controls: the status line, Connect / Disconnect, Mute, Interrupt (and Escape),
 * and who is speaking.
 */
import type { MicState, SpeakingState } from "../realtime";
import { byId, setHidden } from "./dom";
import type { StateView } from "./reconnectView";

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
