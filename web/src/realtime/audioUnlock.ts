/**
 * Getting the assistant's audio element to play under autoplay policies.
 *
 * Safari (and every browser on iOS) lets an element play programmatically only once it was
 * played inside a user gesture; by the time the remote stream arrives, the Connect click's
 * gesture is long over. So the element is played in the click itself, before any `await`,
 * with no source yet ({@link AudioUnlock.unlock}), and played again once the stream is
 * attached ({@link AudioUnlock.play}). If the browser still refuses, the state says
 * `blocked`: show a "Tap to hear the assistant" control whose click calls `play()` again.
 */
import { isRecord, messageOf } from "./errors";
import type { AudioSinkLike } from "./types";

/** Whether the assistant can be heard. */
export type AudioPlayback =
  /** Nothing tried yet. */
  | { status: "idle" }
  /** Played inside a gesture, or asked to play; not settled, or waiting for a source. */
  | { status: "starting" }
  | { status: "playing" }
  /** The autoplay policy refused: a user gesture is needed (show the tap control). */
  | { status: "blocked" }
  /** Another error, e.g. an unsupported source. */
  | { status: "failed"; message: string };

/** Tracks the play attempts of one audio element. */
export class AudioUnlock {
  readonly #element: Pick<AudioSinkLike, "play">;
  readonly #onChange: (state: AudioPlayback) => void;
  #state: AudioPlayback = { status: "idle" };
  #attempt = 0;
  #disposed = false;

  constructor(
    element: Pick<AudioSinkLike, "play">,
    onChange: (state: AudioPlayback) => void = () => {},
  ) {
    this.#element = element;
    this.#onChange = onChange;
  }

  get state(): AudioPlayback {
    return { ...this.#state };
  }

  /**
   * Plays the element before it has a source. Call it synchronously in the Connect click
   * handler, before anything is awaited: the gesture is what unlocks the element. Only a
   * `NotAllowedError` is reported (as `blocked`); other refusals of an element without a
   * source say nothing about the stream that comes later.
   */
  unlock(): Promise<AudioPlayback> {
    return this.#play(false);
  }

  /**
   * Plays the element with its source attached (after `srcObject` is set), or from the tap
   * control's click. Settles with the resulting state.
   */
  play(): Promise<AudioPlayback> {
    return this.#play(true);
  }

  /** Ignores every later outcome. Idempotent; the element is the caller's. */
  dispose(): void {
    this.#disposed = true;
  }

  #play(hasSource: boolean): Promise<AudioPlayback> {
    if (this.#disposed) return Promise.resolve(this.state);
    const attempt = ++this.#attempt;
    if (this.#state.status !== "playing") this.#set({ status: "starting" });
    let playing: Promise<void>;
    try {
      // Called synchronously: inside a gesture, this call is what the browser remembers.
      playing = this.#element.play();
    } catch (error) {
      playing = Promise.reject(error);
    }
    return playing.then(
      () => {
        // Playback started, whichever attempt it was: the element is audible now.
        if (!this.#disposed) this.#set({ status: "playing" });
        return this.state;
      },
      (error: unknown) => {
        if (this.#disposed || attempt !== this.#attempt) return this.state;
        const name = isRecord(error) ? error.name : undefined;
        if (name === "NotAllowedError") {
          this.#set({ status: "blocked" });
        } else if (name === "AbortError") {
          // Interrupted by a new load (the source being attached) or a pause: a later
          // play() decides.
        } else if (hasSource) {
          this.#set({ status: "failed", message: messageOf(error) });
        }
        return this.state;
      },
    );
  }

  #set(state: AudioPlayback): void {
    const same =
      state.status === this.#state.status &&
      (state.status !== "failed" ||
        (this.#state.status === "failed" && state.message === this.#state.message));
    if (same) return;
    this.#state = state;
    this.#onChange(this.state);
  }
}
