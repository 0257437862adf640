/**
 * When mic audio arrived, as runs of RTP packets: a test can tell a microphone that sends only
 * while a talk button is held (one burst per hold, nothing between) from one that is merely
 * disabled (a disabled track still sends a packet every 20 ms). Pure: times come in.
 */

/** A run of mic RTP packets with no gap longer than the log's `gapMs` inside it. */
export interface RtpBurst {
  /** Wall clock (unix ms) of the run's first packet. */
  startedAt: number;
  /** Wall clock (unix ms) of the run's last packet. */
  endedAt: number;
  packets: number;
  /** Sum of the packets' payload sizes. */
  bytes: number;
}

export interface RtpBurstLogOptions {
  /** A silence longer than this starts a new burst. Default 200 ms (ten 20 ms packets). */
  gapMs?: number;
  /** Only the latest this many bursts are kept. Default 500. */
  maxBursts?: number;
}

/** Received mic RTP grouped into bursts, with running totals. */
export class RtpBurstLog {
  readonly #gapMs: number;
  readonly #maxBursts: number;
  readonly #bursts: RtpBurst[] = [];
  #packets = 0;
  #bytes = 0;

  constructor(options: RtpBurstLogOptions = {}) {
    this.#gapMs = options.gapMs ?? 200;
    this.#maxBursts = options.maxBursts ?? 500;
  }

  /** One packet of `payloadBytes` received at `atMs` (wall clock, unix ms). */
  packet(atMs: number, payloadBytes: number): void {
    this.#packets += 1;
    this.#bytes += payloadBytes;
    const last = this.#bursts.at(-1);
    if (last && atMs - last.endedAt <= this.#gapMs) {
      last.endedAt = Math.max(last.endedAt, atMs);
      last.packets += 1;
      last.bytes += payloadBytes;
      return;
    }
    this.#bursts.push({ startedAt: atMs, endedAt: atMs, packets: 1, bytes: payloadBytes });
    if (this.#bursts.length > this.#maxBursts) this.#bursts.shift();
  }

  get packets(): number {
    return this.#packets;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Copies of the kept bursts, oldest first. */
  get bursts(): RtpBurst[] {
    return this.#bursts.map((burst) => ({ ...burst }));
  }
}
