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
