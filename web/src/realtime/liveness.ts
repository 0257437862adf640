import type { RealtimeError } from "openai/resources/realtime/realtime";
import { isRecord, messageOf } from "./errors";
import type { Clock, CloseReason, PeerConnectionLike, TimerHandle } from "./types";

/**
 * Watches the peer connection for a lost network path. `failed` is final; `disconnected`
 * often heals by itself (a Wi-Fi hand-over), so it only counts once it has lasted
 * `graceMs`. Both the connection state and the ICE state are watched; whichever reports a
 * change first decides.
 */
export class IceWatch {
  readonly #clock: Clock;
  readonly #graceMs: number;
  readonly #onLost: (reason: CloseReason) => void;
  readonly #onConnected: () => void;
  #graceTimer: TimerHandle | null = null;
  #stopped = false;

  constructor(hooks: {
    clock: Clock;
    graceMs: number;
    onLost: (reason: CloseReason) => void;
    /** ICE reached `connected` or `completed` (again). */
    onConnected: () => void;
  }) {
    this.#clock = hooks.clock;
    this.#graceMs = hooks.graceMs;
    this.#onLost = hooks.onLost;
    this.#onConnected = hooks.onConnected;
  }

  /** Listens to the peer connection's state changes. */
  watch(pc: PeerConnectionLike): void {
    pc.addEventListener("connectionstatechange", () => this.#onState(pc.connectionState));
    pc.addEventListener("iceconnectionstatechange", () => this.#onState(pc.iceConnectionState));
  }

  /** Cancels a running grace period; a later `disconnected` starts none. */
  stop(): void {
    this.#stopped = true;
    this.#clearGraceTimer();
  }

  #onState(state: string): void {
    if (state === "failed") {
      this.#onLost({ kind: "ice-failed" });
    } else if (state === "disconnected") {
      this.#startGraceTimer();
    } else if (state === "connected" || state === "completed") {
      this.#clearGraceTimer();
      this.#onConnected();
    }
  }

  #startGraceTimer(): void {
    if (this.#graceTimer !== null || this.#stopped) return;
    const graceMs = this.#graceMs;
    this.#graceTimer = this.#clock.setTimeout(() => {
      this.#graceTimer = null;
      this.#onLost({ kind: "ice-disconnected", graceMs });
    }, graceMs);
  }

  #clearGraceTimer(): void {
    if (this.#graceTimer === null) return;
    this.#clock.clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
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

  /** Polls `pc`'s statistics every second until {@link LinkWatch.stop}. */
  start(pc: PeerConnectionLike): void {
    if (this.#timer !== null) return;
    this.#heardAt = this.#clock.now();
    const poll = () => {
      this.#timer = this.#clock.setTimeout(() => {
        pc.getStats().then(
          (report) => {
            if (this.#timer === null) return;
            this.#sample(receivedSignal(report));
            if (this.#timer !== null) poll();
          },
          () => this.#timer !== null && poll(),
        );
      }, 1000);
    };
    poll();
  }

  stop(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #sample(received: number | null): void {
    const now = this.#clock.now();
    if (received !== null && received !== this.#last) {
      this.#last = received;
      this.#heardAt = now;
    }
    const silentFor = now - this.#heardAt;
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
 * A number that grows whenever anything arrives: the packets received by the transports,
 * or by the candidate pairs where a browser reports no transport. Null if neither is there.
 */
function receivedSignal(report: ReadonlyMap<string, unknown>): number | null {
  let transport: number | null = null;
  let pairs: number | null = null;
  report.forEach((stat) => {
    if (!isRecord(stat)) return;
    if (stat.type === "transport" && typeof stat.packetsReceived === "number") {
      transport = (transport ?? 0) + stat.packetsReceived;
    } else if (stat.type === "candidate-pair" && typeof stat.bytesReceived === "number") {
      pairs = (pairs ?? 0) + stat.bytesReceived;
    }
  });
  return transport ?? pairs;
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
