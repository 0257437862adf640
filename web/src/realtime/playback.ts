import { isRecord } from "./errors";
import type { Clock, TimerHandle } from "./types";

/**
 * How much of the assistant's audio has played out, as the receiver's statistics count it:
 * `"pending"` until the first reading after the audio started, `"unsupported"` when the
 * browser's statistics do not say (then only the clock bounds what played).
 */
export type ReceivedAudio =
  | { kind: "measured"; atStartMs: number; latestMs: number }
  | { kind: "pending" }
  | { kind: "unsupported" };

/** The assistant audio the user is hearing now. */
export interface Playback {
  responseId: string;
  /** The item to truncate; null until `response.output_item.added` names it. */
  itemId: string | null;
  /** When `output_audio_buffer.started` arrived, on the session's clock. */
  startedAt: number;
  received: ReceivedAudio;
}

/** The peer connection's statistics, or undefined when there is no connection to ask. */
export type StatsSource = () => Promise<ReadonlyMap<string, unknown>> | undefined;

/** What lets the tracker measure played audio; without it only the clock bounds it. */
export interface PlaybackMeterOptions {
  clock: Clock;
  stats: StatsSource;
  /** How often the statistics are read while audio plays (ms). */
  intervalMs?: number;
}

/** 100 ms: a truncation may lag what played by this much, never run ahead of it. */
const DEFAULT_INTERVAL_MS = 100;

/**
 * What `interrupt()` needs to know, kept apart because two things that look alike are not:
 * a response can be in flight before its audio starts, and its audio keeps playing after
 * the response is done. Only the first may be cancelled; only the second may be truncated.
 *
 * While audio plays it reads the receiver's statistics every {@link DEFAULT_INTERVAL_MS}, so
 * that a truncation never claims audio that did not arrive: the server generates audio faster
 * than real time and the data channel's `output_audio_buffer.started` may overtake the RTP.
 */
export class ResponseTracker {
  readonly #active = new Set<string>();
  /** The first assistant message of each response: the one its audio belongs to. */
  readonly #itemByResponse = new Map<string, string>();
  readonly #meter: PlaybackMeterOptions | undefined;
  #playback: Playback | null = null;
  #timer: TimerHandle | null = null;
  /** `event_id`s of the cancels sent whose answer could still be a "not active" error. */
  readonly #cancels = new Set<string>();
  #cancelCount = 0;

  constructor(meter?: PlaybackMeterOptions) {
    this.#meter = meter;
  }

  /** Whether a response is being generated (`response.cancel` applies). */
  get inFlight(): boolean {
    return this.#active.size > 0;
  }

  /** The audio playing now, or null once the output buffer stopped or was cleared. */
  get playback(): Readonly<Playback> | null {
    return this.#playback;
  }

  responseCreated(responseId: string): void {
    this.#active.add(responseId);
  }

  /** An assistant message was added to a response; audio that started first learns its id. */
  messageAdded(responseId: string, itemId: string): void {
    if (this.#itemByResponse.has(responseId)) return;
    this.#itemByResponse.set(responseId, itemId);
    if (this.#playback?.responseId === responseId && !this.#playback.itemId) {
      this.#playback.itemId = itemId;
    }
  }

  audioStarted(responseId: string, now: number): void {
    this.#stopReading();
    const playback: Playback = {
      responseId,
      itemId: this.#itemByResponse.get(responseId) ?? null,
      startedAt: now,
      received: this.#meter ? { kind: "pending" } : { kind: "unsupported" },
    };
    this.#playback = playback;
    if (this.#meter) this.#read(this.#meter, playback);
  }

  audioEnded(): void {
    this.#stopReading();
    this.#playback = null;
  }

  /** The response is done generating; its audio may still be playing. */
  responseDone(responseId: string): void {
    this.#active.delete(responseId);
    this.#itemByResponse.delete(responseId);
  }

  /**
   * A `response.cancel` is about to go out: returns the `event_id` to send it with, so that
   * {@link cancelRaced} can recognize the server's answer to it.
   */
  cancelSent(): string {
    // Only the latest few can still be answered; older ones were long since.
    if (this.#cancels.size >= 8) this.#cancels.clear();
    const eventId = `cancel_${++this.#cancelCount}`;
    this.#cancels.add(eventId);
    return eventId;
  }

  /**
   * Whether `error` is the server saying that one of our cancels found no active response:
   * the response finished generating while the cancel was on its way (its `response.done`
   * crossed the cancel). Nothing is wrong then; the audio is cleared and truncated anyway.
   */
  cancelRaced(error: { code?: string | null; event_id?: string | null }): boolean {
    if (error.code !== "response_cancel_not_active" || !error.event_id) return false;
    return this.#cancels.delete(error.event_id);
  }

  /** Forgets everything (the session closed). */
  clear(): void {
    this.audioEnded();
    this.#active.clear();
    this.#itemByResponse.clear();
    this.#cancels.clear();
  }

  /** One reading for `playback`, then the next one after the interval while it still plays. */
  #read(meter: PlaybackMeterOptions, playback: Playback): void {
    const pending = meter.stats();
    if (!pending) return;
    pending.then(
      (report) => {
        if (this.#playback !== playback) return;
        const ms = playedOutMs(report);
        if (ms === null) {
          playback.received = { kind: "unsupported" };
          return;
        }
        playback.received =
          playback.received.kind === "measured"
            ? { ...playback.received, latestMs: ms }
            : { kind: "measured", atStartMs: ms, latestMs: ms };
        this.#timer = meter.clock.setTimeout(() => {
          this.#timer = null;
          if (this.#playback === playback) this.#read(meter, playback);
        }, meter.intervalMs ?? DEFAULT_INTERVAL_MS);
      },
      // A closing connection: keep the last reading, which can only be short of what played.
      () => undefined,
    );
  }

  #stopReading(): void {
    if (this.#timer !== null) this.#meter?.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/**
 * Milliseconds of received audio the browser has played out so far: the samples that left
 * the jitter buffer (`inbound-rtp` `jitterBufferEmittedCount`, which unlike
 * `totalSamplesReceived` excludes the silence the browser makes up when no packets come),
 * at the codec's clock rate. 0 before any audio arrived (no `inbound-rtp` yet); null when the
 * browser does not report it.
 */
export function playedOutMs(report: ReadonlyMap<string, unknown>): number | null {
  let ms = 0;
  let unsupported = false;
  report.forEach((stat) => {
    if (!isRecord(stat) || stat.type !== "inbound-rtp" || stat.kind !== "audio") return;
    const emitted = stat.jitterBufferEmittedCount;
    if (typeof emitted !== "number") {
      unsupported = true;
      return;
    }
    const codec = typeof stat.codecId === "string" ? report.get(stat.codecId) : undefined;
    const rate =
      isRecord(codec) && typeof codec.clockRate === "number" && codec.clockRate > 0
        ? codec.clockRate
        : OPUS_CLOCK_RATE;
    ms += (emitted * 1000) / rate;
  });
  return unsupported ? null : ms;
}

/** Opus always runs a 48 kHz RTP clock, and it is the only codec the Realtime API sends. */
const OPUS_CLOCK_RATE = 48_000;

/**
 * The `audio_end_ms` for `conversation.item.truncate`: whole milliseconds of the item's audio
 * the user heard — the time since the audio started, but never more than the receiver has
 * played out since then. Rounding down keeps it at or below what played, so the model never
 * remembers saying words the user did not hear, and the server never finds the item shorter
 * than the truncation.
 */
export function playedMs(playback: Readonly<Playback>, now: number): number {
  const byClock = Math.max(0, Math.floor(now - playback.startedAt));
  const received = playback.received;
  switch (received.kind) {
    case "unsupported":
      return byClock;
    case "pending":
      return 0;
    case "measured":
      return Math.min(byClock, Math.max(0, Math.floor(received.latestMs - received.atStartMs)));
  }
}
