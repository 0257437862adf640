import { messageOf } from "./errors";
import type { AudioSinkLike, MediaStreamLike } from "./types";

/** What {@link RemoteAudio} reports. */
export interface RemoteAudioHooks {
  /** The assistant's stream arrived (for an app that routes it itself). */
  onStream(stream: MediaStreamLike): void;
  /** The browser refused to play it (autoplay policy); the message says so. */
  onBlocked(message: string): void;
}

/**
 * The assistant's audio: the remote stream is played through the sink the app gave, if any,
 * and taken off it again when the session ends (a sink the session never set is left alone).
 */
export class RemoteAudio {
  readonly #sink: AudioSinkLike | undefined;
  readonly #hooks: RemoteAudioHooks;
  #attached = false;

  constructor(sink: AudioSinkLike | undefined, hooks: RemoteAudioHooks) {
    this.#sink = sink;
    this.#hooks = hooks;
  }

  play(stream: MediaStreamLike): void {
    this.#hooks.onStream(stream);
    const sink = this.#sink;
    if (!sink) return;
    sink.srcObject = stream;
    this.#attached = true;
    sink.play().catch((error: unknown) => {
      this.#hooks.onBlocked(`The browser blocked audio playback: ${messageOf(error)}`);
    });
  }

  /** Takes the stream off the sink, if this set it. Safe to call again. */
  release(): void {
    if (!this.#attached || !this.#sink) return;
    this.#sink.srcObject = null;
    this.#attached = false;
  }
}
