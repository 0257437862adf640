/**
 * Push-to-talk on the page for one session: hold the talk button (mouse, pen or touch) or
 * Space while no text field has focus. Loaded with the session code (`live.ts`), not at first
 * paint.
 */
import { PushToTalk, talkKeyAction, type PushToTalkState, type ReleaseResult } from "../realtime";
import type { TalkButtonLike, TalkSession } from "./talkControls";

/** How the last hold ended (`#talk[data-last]`): sent as a turn, a slip, or abandoned. */
type HoldOutcome = "sent" | "too-short" | "cancelled";

/** The talk button and Space key wired to a {@link PushToTalk} on one session. */
export class TalkButton implements TalkButtonLike {
  readonly #button: HTMLButtonElement;
  readonly #ptt: PushToTalk;
  readonly #listeners = new AbortController();
  #enabled = false;

  /** Closes the session's microphone at once: from now on it only opens while held. */
  constructor(button: HTMLButtonElement, session: TalkSession, now = () => performance.now()) {
    this.#button = button;
    this.#ptt = new PushToTalk({
      send: (event) => void session.send(event),
      setMicOpen: (open) => session.setPushToTalkOpen(open),
      interrupt: () => void session.interrupt(),
      now,
      onChange: (state) => this.#render(state),
    });
    const signal = this.#listeners.signal;
    button.addEventListener(
      "pointerdown",
      (event) => {
        if (!this.#enabled || event.button !== 0) return;
        event.preventDefault();
        // Captured, so the release counts even when the finger slides off the button.
        button.setPointerCapture(event.pointerId);
        this.#ptt.press();
      },
      { signal },
    );
    button.addEventListener("pointerup", () => this.#release(), { signal });
    button.addEventListener("lostpointercapture", () => this.#release(), { signal });
    // The browser took the gesture over (a scroll, a system dialog): not a deliberate turn.
    button.addEventListener("pointercancel", () => this.#cancel(), { signal });
    // A long press on a touch screen would open the context menu instead.
    button.addEventListener("contextmenu", (event) => event.preventDefault(), { signal });
    for (const type of ["keydown", "keyup"] as const) {
      document.addEventListener(type, (event) => this.#onKey(event), { signal });
    }
    // The key's release may never reach a page that lost focus.
    window.addEventListener("blur", () => this.#cancel(), { signal });
    this.#render(this.#ptt.state);
  }

  /** Whether holding may start a turn (the session is connected). A hold in progress is dropped. */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
    this.#button.disabled = !enabled;
    if (!enabled) this.#cancel();
  }

  /** Removes every listener and closes the microphone; sends nothing. Idempotent. */
  dispose(): void {
    this.#enabled = false;
    this.#listeners.abort();
    this.#ptt.dispose();
    this.#render({ phase: "released" });
  }

  #onKey(event: KeyboardEvent): void {
    const inTextField = isTextEntry(event.target);
    if (event.code !== "Space" || inTextField) return;
    // Also for auto-repeat: Space must neither scroll the page nor click a focused button.
    event.preventDefault();
    if (!this.#enabled) return;
    const action = talkKeyAction({
      type: event.type === "keydown" ? "keydown" : "keyup",
      code: event.code,
      repeat: event.repeat,
      inTextField,
    });
    if (action === "press") this.#ptt.press();
    else if (action === "release") this.#release();
  }

  #release(): void {
    if (this.#ptt.state.phase !== "holding") return;
    const result: ReleaseResult = this.#ptt.release();
    this.#button.dataset.last = result.sent ? "sent" : result.reason;
  }

  #cancel(): void {
    if (this.#ptt.state.phase !== "holding") return;
    this.#ptt.cancel();
    this.#button.dataset.last = "cancelled" satisfies HoldOutcome;
  }

  #render(state: PushToTalkState): void {
    const holding = state.phase === "holding";
    this.#button.setAttribute("aria-pressed", String(holding));
    this.#button.dataset.state = state.phase;
    const label = this.#button.querySelector(".talk-label");
    if (label) label.textContent = holding ? "Release to send" : "Hold to talk";
  }
}

/** Where Space types a space (or opens a picker) rather than talking. */
function isTextEntry(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    (target instanceof HTMLElement && target.isContentEditable)
  );
}
