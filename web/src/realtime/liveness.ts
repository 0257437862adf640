import type { RealtimeError } from "openai/resources/realtime/realtime";
import { isRecord, messageOf } from "./errors";
import type { Clock, CloseReason, PeerConnectionLike, TimerHandle } from "./types";

/**
 * Watches the peer connection's state: `failed` is final and ends the session; reaching
 * `connected` is reported (the connect timings use it). `disconnected` is left to the
 * {@link LinkWatch}: it only says that ICE checks went unanswered for a while, which the
 * link watch sees sooner, and it often heals by itself (a Wi-Fi hand-over).
 */
export class IceWatch {
  constructor(
    private readonly hooks: {
      onLost: (reason: CloseReason) => void;
      /** ICE reached `connected` or `completed`. */
      onConnected: () => void;
    },
  ) {}

  /** Listens to the peer connection's state changes. */
  watch(pc: PeerConnectionLike): void {
    const onState = (state: string) => {
      if (state === "failed") this.hooks.onLost({ kind: "ice-failed" });
      else if (state === "connected" || state === "completed") this.hooks.onConnected();
    };
    pc.addEventListener("connectionstatechange", () => onState(pc.connectionState));
    pc.addEventListener("iceconnectionstatechange", () => onState(pc.iceConnectionState));
  }
}

/** Thresholds and callbacks of {@link LinkWatch}. */
export interface LinkWatchHooks {
  stallMs: number;
  silentMs: number;
  onStalled: (stalled: boolean) => void;
  onLost: (reason: CloseReason) => void;
}

/**
 * Watches that the server is still there: anything from it (audio, events, even the answers
 * to ICE consent checks, which a live peer gives at least every couple of seconds) moves the
 * peer connection's received-packet statistics. When they stand still for `stallMs` the
 * link is reported stalled; for `silentMs`, lost as `unresponsive`. This notices an upstream
 * that vanished seconds before ICE gives up on it (measured in Chromium: ICE reports
 * `disconnected` about 5.5 s after the last packet, and the grace period comes on top).
 */
export class LinkWatch {
  readonly #clock: Clock;
  readonly #hooks: LinkWatchHooks;
  #timer: TimerHandle | null = null;
  #last: number | null = null;
  #heardAt = 0;
  #stalled = false;

  constructor(clock: Clock, hooks: LinkWatchHooks) {
    this.#clock = clock;
    this.#hooks = hooks;
  }

  /**
   * Judges the link every second until {@link LinkWatch.stop}, from `pc`'s statistics: on
   * each answer, or, when the previous stats call has still not answered, on the tick itself.
   * A stats call that never answers (seen to wedge while a transport is torn down) thus counts
   * as nothing heard, and silence is still noticed.
   */
  start(pc: PeerConnectionLike): void {
    if (this.#timer !== null) return;
    this.#heardAt = this.#clock.now();
    let asking = false;
    const tick = () => {
      this.#timer = this.#clock.setTimeout(() => {
        if (asking) {
          this.#judge();
          if (this.#timer !== null) tick();
          return;
        }
        asking = true;
        tick();
        pc.getStats().then(
          (report) => {
            asking = false;
            if (this.#timer === null) return;
            this.#heard(receivedSignal(report));
            this.#judge();
          },
          () => {
            asking = false;
            if (this.#timer !== null) this.#judge();
          },
        );
      }, 1000);
    };
    tick();
  }

  stop(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** A stats sample: the link was heard from if the received count moved. */
  #heard(received: number | null): void {
    if (received !== null && received !== this.#last) {
      this.#last = received;
      this.#heardAt = this.#clock.now();
    }
  }

  /** Reports a stall or the loss from how long nothing has been heard. */
  #judge(): void {
    const silentFor = this.#clock.now() - this.#heardAt;
    const { stallMs, silentMs } = this.#hooks;
    if (silentFor >= silentMs) {
      this.stop();
      this.#hooks.onLost({ kind: "unresponsive", silentMs });
      return;
    }
    const stalled = silentFor >= stallMs;
    if (stalled !== this.#stalled) {
      this.#stalled = stalled;
      this.#hooks.onStalled(stalled);
    }
  }
}

/**
 * A number that grows whenever anything arrives: the bytes received by the transports and
 * the candidate pairs (Firefox reports no transports). Null if neither is there.
 */
function receivedSignal(report: ReadonlyMap<string, unknown>): number | null {
  let received: number | null = null;
  report.forEach((stat) => {
    if (
      isRecord(stat) &&
      (stat.type === "transport" || stat.type === "candidate-pair") &&
      typeof stat.bytesReceived === "number"
    ) {
      received = (received ?? 0) + stat.bytesReceived;
    }
  });
  return received;
}

/** Error codes with which the server ends a session it will not continue. */
const SERVER_LIMIT_CODES = new Set(["session_expired", "session_max_duration_exceeded"]);

/**
 * The close reason for an `error` event that ends the session (it hit its maximum
 * duration); null for the many errors the session survives.
 */
export function serverLimitReason(error: RealtimeError): CloseReason | null {
  const code: unknown = isRecord(error) ? error.code : undefined;
  if (typeof code !== "string" || !SERVER_LIMIT_CODES.has(code)) return null;
  return { kind: "server-limit", message: messageOf(error.message) };
}
