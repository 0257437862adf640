import { RealtimeConnectError, isRecord, messageOf, type ConnectFailure } from "./errors";
import type {
  MediaStreamLike,
  MediaStreamTrackLike,
  MicState,
  MuteStrategy,
  RtpSenderLike,
} from "./types";

/** Where the microphone comes from (part of `RealtimeSessionOptions`). */
export interface MicrophoneSource {
  /**
   * A microphone stream you own. The session never stops its tracks; without it the
   * session calls `getUserMedia` and stops what it acquired when it closes.
   */
  mediaStream?: MediaStreamLike;
  /**
   * Constraints for the session's own `getUserMedia` call, merged over
   * {@link VOICE_CONSTRAINTS} (see {@link microphoneConstraints}).
   */
  audioConstraints?: MediaTrackConstraints | boolean;
  getUserMedia?: (constraints: {
    audio: MediaTrackConstraints | boolean;
  }) => Promise<MediaStreamLike>;
  /**
   * Whether the microphone is already allowed, so `getUserMedia` will show no prompt.
   * `connect()` then sends the offer without waiting for the microphone to open (the answer
   * is still applied only once its track is on the call); otherwise the offer waits for it, so
   * no call is opened (and, brokered, no minutes run) while a permission prompt is showing.
   * Defaults to {@link permissionGranted} (the Permissions API, asked once per page);
   * anything but `granted`, or no answer, counts as not allowed.
   */
  microphoneGranted?: () => Promise<boolean>;
}

/** The part of `navigator.permissions` {@link MicrophonePermission} uses. */
export interface PermissionsLike {
  query(descriptor: { name: PermissionName }): Promise<{ readonly state: PermissionState }>;
}

/**
 * Whether the microphone is allowed, asked of the Permissions API once and then read from the
 * `PermissionStatus` it answered with, which the browser keeps current (a grant or a revocation
 * in the site settings changes its `state`). The first answer is a round trip to the browser
 * process (5–10 ms of a click in headless Chromium, bench:connect); asked ahead of the click
 * (`CallPreparer.prepare` does), the click reads it without that wait. A failed query is asked
 * again next time.
 */
export class MicrophonePermission {
  readonly #permissions: () => PermissionsLike | undefined;
  #status: Promise<{ readonly state: PermissionState } | null> | null = null;
  /** The browser's live answer, once it came. */
  #known: { readonly state: PermissionState } | null = null;

  /** `permissions` defaults to `navigator.permissions` (absent: never granted). */
  constructor(permissions: () => PermissionsLike | undefined = defaultPermissions) {
    this.#permissions = permissions;
  }

  /** True only for `granted`; false for anything else, or when it cannot tell. */
  async granted(): Promise<boolean> {
    const status = (this.#status ??= this.#query());
    const answer = await status;
    if (answer === null && this.#status === status) this.#status = null;
    return answer?.state === "granted";
  }

  /**
   * Whether the microphone is allowed right now, without waiting: null until the browser
   * has answered a {@link MicrophonePermission.granted} once.
   */
  grantedNow(): boolean | null {
    return this.#known === null ? null : this.#known.state === "granted";
  }

  async #query(): Promise<{ readonly state: PermissionState } | null> {
    try {
      const permissions = this.#permissions();
      if (!permissions) return null;
      const status = await permissions.query({ name: "microphone" as PermissionName });
      this.#known = status;
      return status;
    } catch {
      return null;
    }
  }
}

function defaultPermissions(): PermissionsLike | undefined {
  return globalThis.navigator?.permissions;
}

/** Made on first use: a module-level `new` would keep this module in the page's first chunk. */
let pagePermission: MicrophonePermission | undefined;

/**
 * The default of {@link MicrophoneSource.microphoneGranted}: the page's
 * {@link MicrophonePermission}; false when it cannot tell.
 */
export function permissionGranted(): Promise<boolean> {
  return (pagePermission ??= new MicrophonePermission()).granted();
}

/** The page's {@link MicrophonePermission.grantedNow}: null until the browser answered. */
export function permissionGrantedNow(): boolean | null {
  return pagePermission?.grantedNow() ?? null;
}

/**
 * Asked for explicitly: browsers differ in what they apply by default, and without echo
 * cancellation the assistant hears itself through the loudspeaker and interrupts itself.
 */
export const VOICE_CONSTRAINTS: Readonly<MediaTrackConstraints> = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

/**
 * The audio constraints to open the microphone with: {@link VOICE_CONSTRAINTS} with the
 * caller's own on top, so `{ deviceId }` keeps the voice processing and `{ echoCancellation:
 * false }` turns one off deliberately. `true` (or nothing) means just the voice processing;
 * `false` is passed on (`getUserMedia` then refuses, failing at the `microphone` stage).
 */
export function microphoneConstraints(
  given: MediaTrackConstraints | boolean | undefined,
): MediaTrackConstraints | false {
  if (given === false) return false;
  if (given === true || given === undefined) return { ...VOICE_CONSTRAINTS };
  return { ...VOICE_CONSTRAINTS, ...given };
}

/**
 * The session's microphone: acquiring it, muting, detaching it from the call while the
 * assistant speaks (the `aggressive` strategy) or between push-to-talk holds, and releasing
 * what was acquired.
 *
 * It starts detached: nothing counts as live until {@link Microphone.goLive}, which
 * `connect()` calls once the answer has arrived and the track is on the sender.
 */
export class Microphone {
  readonly #strategy: Exclude<MuteStrategy, "auto">;
  readonly #onChange: (mic: MicState) => void;
  readonly #onProblem: (message: string) => void;
  #stream: MediaStreamLike | null = null;
  #track: MediaStreamTrackLike | null = null;
  #owned = false;
  #sender: RtpSenderLike | null = null;
  #muted = false;
  /** Push-to-talk closed the gate: the track is off between holds. */
  #gateClosed = false;
  #assistantSpeaking = false;
  #detached = true;
  #released = false;
  #state: MicState = { muted: false, live: false };

  constructor(hooks: {
    strategy: Exclude<MuteStrategy, "auto">;
    /** Called with a fresh copy whenever {@link Microphone.state} changes. */
    onChange: (mic: MicState) => void;
    /** A track switch failed; the call goes on. */
    onProblem: (message: string) => void;
  }) {
    this.#strategy = hooks.strategy;
    this.#onChange = hooks.onChange;
    this.#onProblem = hooks.onProblem;
  }

  /** `auto` resolved, fixed for the session's life. */
  get strategy(): Exclude<MuteStrategy, "auto"> {
    return this.#strategy;
  }

  /** Whether audio is being sent, and the user's mute choice (known once a track is attached). */
  get state(): MicState {
    return { ...this.#state };
  }

  /** The stream in use, once acquired. */
  get stream(): MediaStreamLike | null {
    return this.#stream;
  }

  /**
   * Resolves with the given stream, or opens one with `getUserMedia`. A stream that arrives
   * after {@link Microphone.release} is stopped at once: nobody else would stop it.
   * `onReady` runs as soon as a usable stream is in hand, without waiting a microtask
   * (a given stream is ready synchronously).
   */
  async acquire(source: MicrophoneSource, onReady: () => void): Promise<MediaStreamLike> {
    if (source.mediaStream) {
      onReady();
      return source.mediaStream;
    }
    const getUserMedia =
      source.getUserMedia ??
      ((constraints) => globalThis.navigator.mediaDevices.getUserMedia(constraints));
    let stream: MediaStreamLike;
    try {
      stream = await getUserMedia({ audio: microphoneConstraints(source.audioConstraints) });
    } catch (error) {
      const { failure, message } = microphoneFailure(error);
      throw new RealtimeConnectError("microphone", failure, message, { cause: error });
    }
    if (this.#released) {
      for (const track of stream.getTracks()) track.stop();
    } else {
      this.#stream = stream;
      this.#owned = true;
      onReady();
    }
    return stream;
  }

  /** Takes the stream's first audio track as the one to send. */
  attach(stream: MediaStreamLike): void {
    const track = stream.getAudioTracks()[0];
    if (!track) {
      throw new RealtimeConnectError(
        "microphone",
        "not-found",
        "The microphone stream has no audio track.",
      );
    }
    this.#stream = stream;
    this.#track = track;
  }

  /**
   * Puts the attached track on the sender, which mute switching uses from then on; rejects
   * at the `microphone` stage.
   */
  send(sender: RtpSenderLike): Promise<void> {
    this.#sender = sender;
    return sender.replaceTrack(this.#track).catch((error: unknown) => {
      throw new RealtimeConnectError(
        "microphone",
        "microphone",
        `Could not send the microphone: ${messageOf(error)}`,
        { cause: error },
      );
    });
  }

  /** The call is answered and the track is on the sender: audio now counts as live. */
  goLive(): void {
    this.#detached = false;
    this.#apply();
  }

  /** Mutes by disabling the track: it keeps running and silence is sent. */
  setMuted(muted: boolean): void {
    this.#muted = muted;
    this.#apply();
  }

  /**
   * Push-to-talk's gate (`PushToTalk`'s `setMicOpen`): while closed the track is off the
   * sender (`replaceTrack(null)`, so no RTP at all reaches the server, not even the silence a
   * disabled track sends) and disabled, and the microphone does not count as live. Never
   * closed unless push-to-talk closes it.
   */
  setPushToTalkOpen(open: boolean): void {
    this.#gateClosed = !open;
    this.#apply();
  }

  /** The `aggressive` strategy detaches the microphone while this is true. */
  setAssistantSpeaking(speaking: boolean): void {
    this.#assistantSpeaking = speaking;
    this.#apply();
  }

  /** Stops the tracks it acquired (never a given stream); from now on nothing is switched. */
  release(): void {
    this.#released = true;
    if (this.#owned && this.#stream) {
      for (const track of this.#stream.getTracks()) track.stop();
    }
  }

  /**
   * Reports the microphone as no longer live. Separate from `release()` so that the session
   * can announce it after the `speaking` state settles, just before `closed`.
   */
  reportOffline(): void {
    if (!this.#state.live) return;
    this.#setState({ muted: this.#muted, live: false });
  }

  #apply(): void {
    const track = this.#track;
    if (!track || this.#released) return;
    track.enabled = !this.#muted && !this.#gateClosed;
    // Replacing the track with null stops RTP outright: unlike a disabled track, no comfort
    // noise or residual echo reaches the server's voice activity detection, and nothing
    // reaches a push-to-talk session's input buffer between holds.
    const detach = this.#gateClosed || (this.#strategy === "aggressive" && this.#assistantSpeaking);
    if (detach !== this.#detached && this.#sender) {
      this.#detached = detach;
      this.#sender.replaceTrack(detach ? null : track).catch((error: unknown) => {
        this.#onProblem(`Could not switch the microphone: ${messageOf(error)}`);
      });
    }
    this.#setState({
      muted: this.#muted,
      live: !this.#muted && !this.#detached && !this.#gateClosed,
    });
  }

  #setState(mic: MicState): void {
    if (mic.muted === this.#state.muted && mic.live === this.#state.live) return;
    this.#state = mic;
    this.#onChange(this.state);
  }
}

/** `auto` resolved: `aggressive` on Android, whose echo canceller lets the loudspeaker in. */
export function resolveMuteStrategy(
  strategy: MuteStrategy,
  isAndroid: boolean | undefined,
): Exclude<MuteStrategy, "auto"> {
  if (strategy !== "auto") return strategy;
  return (isAndroid ?? sniffAndroid()) ? "aggressive" : "standard";
}

function sniffAndroid(): boolean {
  return /Android/i.test(globalThis.navigator?.userAgent ?? "");
}

const DENIED: [ConnectFailure, string] = ["denied", "Microphone access was denied."];
const NOT_FOUND: [ConnectFailure, string] = ["not-found", "No microphone was found."];
const IN_USE: [ConnectFailure, string] = [
  "in-use",
  "The microphone could not be started; another app may be using it.",
];
const MIC_FAILURES: Record<string, [ConnectFailure, string]> = {
  NotAllowedError: DENIED,
  SecurityError: DENIED,
  NotFoundError: NOT_FOUND,
  OverconstrainedError: NOT_FOUND,
  NotReadableError: IN_USE,
  AbortError: IN_USE,
};

function microphoneFailure(error: unknown): { failure: ConnectFailure; message: string } {
  const [failure, message] = MIC_FAILURES[isRecord(error) ? String(error.name) : ""] ?? [
    "microphone",
    `The microphone could not be opened: ${messageOf(error)}`,
  ];
  return { failure, message };
}
