/**
 * Push-to-talk over a session without turn detection (`turnDetection: "push_to_talk"`, i.e.
 * `turn_detection: null`), the GA way: on press `input_audio_buffer.clear` and open the
 * microphone; on release close it, `input_audio_buffer.commit`, then `response.create`.
 * Between holds the microphone sends nothing, so nothing reaches the input buffer.
 */
import type { RealtimeClientEvent } from "openai/resources/realtime/realtime";
import type { MediaStreamTrackLike, RtpSenderLike } from "./types";

/** Whether the user is holding the talk control. */
export type PushToTalkState =
  | { phase: "released" }
  | {
      phase: "holding";
      /** When the hold began, on the injected clock. */
      since: number;
    };

/** What a release did. */
export type ReleaseResult =
  /** The turn was committed and a response requested. */
  | { sent: true; heldMs: number }
  /** Nothing was held, the hold was too short to be speech, or the controller is disposed. */
  | { sent: false; reason: "not-holding" | "too-short" | "disposed"; heldMs: number };

export interface PushToTalkOptions {
  /** Sends a client event on the session's channel (e.g. `session.send`). */
  send(event: RealtimeClientEvent): void;
  /**
   * Opens and closes the microphone. With a `RealtimeSession`, pass its
   * `setPushToTalkOpen` so muting and the gate agree; {@link gateSender} does it on a bare
   * sender and track.
   */
  setMicOpen(open: boolean): void;
  /** Milliseconds on a monotonic scale, e.g. `performance.now`. */
  now(): number;
  /**
   * Cuts off an assistant still speaking (the session's `interrupt()`: cancel, clear the
   * output buffer, truncate to what was heard), since no turn detection will do it. Called on
   * press before the buffer is cleared, and on a release that sends a turn before it is
   * committed (an answer may have started during the hold, e.g. to a typed message; the API
   * refuses a second active response). It must do nothing when nothing is playing.
   */
  interrupt?(): void;
  /**
   * A hold shorter than this is treated as a slip: the buffer is cleared, not committed.
   * The API refuses to commit less than 100 ms of audio. Default 200.
   */
  minHoldMs?: number;
  onChange?(state: PushToTalkState): void;
}

/** Default shortest hold that is sent as a turn. */
export const DEFAULT_MIN_HOLD_MS = 200;

/** A push-to-talk controller for one session. */
export class PushToTalk {
  readonly #options: PushToTalkOptions;
  readonly #minHoldMs: number;
  #state: PushToTalkState = { phase: "released" };
  #disposed = false;

  /** Closes the microphone at once: it only opens while held. */
  constructor(options: PushToTalkOptions) {
    this.#options = options;
    this.#minHoldMs = options.minHoldMs ?? DEFAULT_MIN_HOLD_MS;
    options.setMicOpen(false);
  }

  get state(): PushToTalkState {
    return { ...this.#state };
  }

  /** Starts a turn. Repeated presses while holding (key repeat) do nothing. */
  press(): void {
    if (this.#disposed || this.#state.phase === "holding") return;
    this.#options.interrupt?.();
    // Whatever reached the buffer before this hold is not part of the turn.
    this.#options.send({ type: "input_audio_buffer.clear" });
    this.#options.setMicOpen(true);
    this.#set({ phase: "holding", since: this.#options.now() });
  }

  /** Ends the turn: commits what was said and asks for one response. */
  release(): ReleaseResult {
    const heldMs = this.#endHold();
    if (heldMs === null) {
      return { sent: false, reason: this.#disposed ? "disposed" : "not-holding", heldMs: 0 };
    }
    if (heldMs < this.#minHoldMs) {
      this.#options.send({ type: "input_audio_buffer.clear" });
      return { sent: false, reason: "too-short", heldMs };
    }
    this.#options.interrupt?.();
    this.#options.send({ type: "input_audio_buffer.commit" });
    this.#options.send({ type: "response.create" });
    return { sent: true, heldMs };
  }

  /** Abandons a hold without sending it (focus lost, Escape). */
  cancel(): void {
    if (this.#endHold() !== null) this.#options.send({ type: "input_audio_buffer.clear" });
  }

  /** Closes the microphone and ignores every later call; sends nothing. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#endHold();
    this.#disposed = true;
  }

  /** Closes the microphone; the hold's length, or null when nothing was held. */
  #endHold(): number | null {
    if (this.#state.phase !== "holding") return null;
    const heldMs = Math.max(0, this.#options.now() - this.#state.since);
    // Closed before anything is sent, so a send that throws cannot leave it open.
    this.#options.setMicOpen(false);
    this.#set({ phase: "released" });
    return heldMs;
  }

  #set(state: PushToTalkState): void {
    this.#state = state;
    this.#options.onChange?.(this.state);
  }
}

/**
 * `setMicOpen` for a bare sender and track: the track is on the sender only while held. A
 * disabled track (`enabled = false`) would still send a silence packet every 20 ms; taking it
 * off the sender sends nothing. A failed switch is reported to `onError`.
 */
export function gateSender(
  sender: RtpSenderLike,
  track: MediaStreamTrackLike,
  onError: (error: unknown) => void = () => {},
): (open: boolean) => void {
  return (open) => {
    track.enabled = open;
    sender.replaceTrack(open ? track : null).catch(onError);
  };
}

/** A key event as far as {@link talkKeyAction} reads it. */
export interface TalkKeyEvent {
  type: "keydown" | "keyup";
  code: string;
  repeat: boolean;
  /** Whether focus is in a text field, where Space types a space. */
  inTextField: boolean;
}

/**
 * What a key event means for push-to-talk: Space presses and releases, except while typing
 * in a text field; auto-repeat is ignored. The caller prevents the default (page scroll) when
 * the result is not null.
 */
export function talkKeyAction(event: TalkKeyEvent, key = "Space"): "press" | "release" | null {
  if (event.code !== key || event.inTextField) return null;
  if (event.type === "keydown") return event.repeat ? null : "press";
  return "release";
}
