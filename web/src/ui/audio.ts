/**
 * The assistant's audio element under autoplay policies (Safari, iOS), and the "Tap to hear
 * the assistant" control shown while the browser blocks it during a call.
 */
import { AudioUnlock, type AudioPlayback, type AudioSinkLike } from "../realtime";
import { byId, setHidden } from "./dom";

/** The `#remote-audio` element behind an {@link AudioUnlock}, and `#tap-to-hear`. */
export class AudioView {
  readonly #audio = byId("remote-audio", HTMLAudioElement);
  readonly #tap = byId("tap-to-hear", HTMLButtonElement);
  readonly #unlock: AudioUnlock;
  #busy = false;

  constructor() {
    this.#unlock = new AudioUnlock(this.#audio, (state) => this.#render(state));
    this.#tap.addEventListener("click", () => void this.play());
  }

  /** Whether the element is paused (tests read it when a session begins). */
  get paused(): boolean {
    return this.#audio.paused;
  }

  /** Plays the element inside the current gesture, before the stream is attached. */
  unlock(): Promise<AudioPlayback> {
    return this.#unlock.unlock();
  }

  /** Plays again: the tap control, or the banner's "Enable audio". */
  play(): Promise<AudioPlayback> {
    return this.#unlock.play();
  }

  /** The tap control is only offered while a call is on its way or running. */
  setBusy(busy: boolean): void {
    this.#busy = busy;
    setHidden(this.#tap, !busy || this.#unlock.state.status !== "blocked");
  }

  /**
   * The element as a session sees it: its play() goes through the unlock, so a refusal shows
   * the tap control; only a failure other than the autoplay policy reaches the session (and
   * its `problem` event).
   */
  sink(): AudioSinkLike {
    const element = this.#audio;
    const unlock = this.#unlock;
    return {
      get srcObject(): unknown {
        return element.srcObject;
      },
      set srcObject(stream: unknown) {
        element.srcObject = stream as MediaStream | null;
      },
      async play(): Promise<void> {
        const state = await unlock.play();
        if (state.status === "failed") throw new Error(state.message);
      },
    };
  }

  #render(state: AudioPlayback): void {
    this.#audio.dataset.playback = state.status;
    if (state.status === "blocked") {
      const when = this.#audio.srcObject ? "with the stream attached" : "before the stream";
      console.info(`The browser blocked the assistant's audio (${when}): showing the tap control.`);
    }
    this.setBusy(this.#busy);
  }
}
