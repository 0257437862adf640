/*
 * A peer connection and its SDP offer built before the user clicks Connect, so the click's
 * own work starts at the microphone and the SDP exchange. Nothing here touches the
 * microphone: the offer carries an audio transceiver without a track, and the session puts
 * the microphone's track on it (`replaceTrack`) once the click has opened it.
 */
import { EVENTS_CHANNEL, createOffer } from "./call";
import { permissionGranted, permissionGrantedNow } from "./microphone";
import type { DataChannelLike, PeerConnectionLike, RtpSenderLike } from "./types";

/**
 * What a call needs before its SDP exchange: the peer connection, the sender of its audio
 * transceiver (no track yet), the `oai-events` channel and the offer, already set as the
 * local description.
 */
export interface PreparedCall {
  pc: PeerConnectionLike;
  sender: RtpSenderLike;
  channel: DataChannelLike;
  /** The offer's SDP. */
  offer: string;
}

/** Builds a {@link PreparedCall} on `pc`; closes `pc` if the offer cannot be made. */
export async function prepareCall(pc: PeerConnectionLike): Promise<PreparedCall> {
  try {
    const { sender } = pc.addTransceiver("audio", { direction: "sendrecv" });
    const channel = pc.createDataChannel(EVENTS_CHANNEL);
    const offer = await createOffer(pc);
    return { pc, sender, channel, offer };
  } catch (error) {
    pc.close();
    throw error;
  }
}

/** Options of {@link CallPreparer}. */
export interface CallPreparerOptions {
  /** Defaults to `new RTCPeerConnection()`. */
  createPeerConnection?: () => PeerConnectionLike;
  /**
   * Asked on every `prepare()`, so that the click finds the answer ready: the session's
   * `microphoneGranted`. Defaults to `permissionGranted` (asked of the browser once per page).
   */
  microphoneGranted?: () => Promise<boolean>;
  /**
   * Whether the microphone is allowed now, without waiting (null: not known yet), read when
   * a call is taken. Defaults to `permissionGrantedNow`.
   */
  microphoneGrantedNow?: () => boolean | null;
}

/** What `microphoneGranted` answered for the prepare that built a call; null until it did. */
interface Allowed {
  answer: boolean | null;
}

type Slot =
  | { state: "empty" }
  | { state: "preparing"; pc: PeerConnectionLike; allowed: Allowed }
  | { state: "ready"; call: PreparedCall; allowed: Allowed }
  | { state: "disposed" };

/**
 * Keeps one {@link PreparedCall} ready for the next `connect()`. Give a session
 * `preparedCall: () => preparer.take()`: a session that finds one ready adopts it (and owns
 * it from then on); otherwise it builds its own as usual, so a preparation that failed or has
 * not finished yet costs the click nothing.
 *
 * @example
 * ```ts
 * const preparer = new CallPreparer();
 * preparer.prepare(); // on load, and again whenever the page is idle
 * const session = new RealtimeSession({ ...options, preparedCall: () => preparer.take() });
 * ```
 */
export class CallPreparer {
  readonly #create: () => PeerConnectionLike;
  readonly #microphoneGranted: () => Promise<boolean>;
  readonly #microphoneGrantedNow: () => boolean | null;
  #slot: Slot = { state: "empty" };

  constructor(options: CallPreparerOptions = {}) {
    this.#create = options.createPeerConnection ?? (() => new RTCPeerConnection());
    this.#microphoneGranted = options.microphoneGranted ?? permissionGranted;
    this.#microphoneGrantedNow = options.microphoneGrantedNow ?? permissionGrantedNow;
  }

  /** Whether a prepared call is waiting to be taken. */
  get ready(): boolean {
    return this.#slot.state === "ready";
  }

  /**
   * Starts preparing a call unless one is ready or on its way, and asks whether the microphone
   * is allowed. Never throws: a failure leaves the slot empty (the next `connect()` builds its
   * own, and reports the failure itself).
   */
  prepare(): void {
    if (this.#slot.state === "disposed") return;
    // Not awaited: a connect() then reads the answer (the offer waits on it) without a round
    // trip to the browser's permission service.
    const granted = this.#microphoneGranted();
    granted.catch(() => undefined);
    if (this.#slot.state !== "empty") return;
    let pc: PeerConnectionLike;
    try {
      pc = this.#create();
    } catch {
      return;
    }
    const allowed: Allowed = { answer: null };
    granted.then(
      (answer) => (allowed.answer = answer),
      () => undefined,
    );
    const slot: Slot = { state: "preparing", pc, allowed };
    this.#slot = slot;
    prepareCall(pc).then(
      (call) => {
        if (this.#slot === slot) this.#slot = { state: "ready", call, allowed };
        // Disposed (or taken over) meanwhile: nobody will use it.
        else call.pc.close();
      },
      () => {
        if (this.#slot === slot) this.#slot = { state: "empty" };
      },
    );
  }

  /**
   * Hands over the ready call, or null when none is ready (still preparing, failed, its peer
   * connection has closed since, or it was built before the microphone was allowed and it is
   * allowed now). The caller owns what it takes.
   */
  take(): PreparedCall | null {
    const slot = this.#slot;
    if (slot.state !== "ready") return null;
    this.#slot = { state: "empty" };
    const { call, allowed } = slot;
    // Chromium gathers a peer connection's ICE candidates by the page's media permission when
    // it is made: without it, only the default route's (none on a loopback-only machine), and
    // a later grant does not widen them. Refused, then allowed, then "Try again" sat at
    // "Connecting…" until ICE timed out (15 s) on such a call; a new one connects.
    const staleGrant = allowed.answer === false && this.#microphoneGrantedNow() === true;
    if (
      staleGrant ||
      call.pc.connectionState === "closed" ||
      call.channel.readyState !== "connecting"
    ) {
      call.pc.close();
      return null;
    }
    return call;
  }

  /** Closes a call that was prepared and not taken; prepares nothing more. Idempotent. */
  dispose(): void {
    const slot = this.#slot;
    this.#slot = { state: "disposed" };
    if (slot.state === "ready") slot.call.pc.close();
    else if (slot.state === "preparing") slot.pc.close();
  }
}
