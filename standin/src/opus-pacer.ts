/**
 * Streams Opus RTP in real time: one 20 ms packet per 20 ms of wall clock, as a live
 * encoder would, so a client hears (and can interrupt) audio for as long as it lasts.
 */
import { randomInt } from "node:crypto";
import { RtpHeader, RtpPacket } from "werift";

/** A valid Opus frame of 20 ms of silence (CELT, fullband); any Opus decoder accepts it. */
export const OPUS_SILENCE_FRAME = Buffer.from([0xf8, 0xff, 0xfe]);
export const PACKET_MS = 20;
/** Opus RTP always runs a 48 kHz clock, whatever the audio's real rate. */
const TICKS_PER_MS = 48;

export interface PacerOptions {
  /** Hands a packet to the RTP sender (werift rewrites SSRC and payload type to the negotiated ones). */
  write: (packet: RtpPacket) => void;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
}

export class OpusPacer {
  private readonly write: (packet: RtpPacket) => void;
  private readonly now: () => number;
  private sequenceNumber = randomInt(0, 0x10000);
  private timestamp = randomInt(0, 0x1_0000_0000);
  private lastPacketAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: PacerOptions) {
    this.write = options.write;
    this.now = options.now ?? (() => performance.now());
  }

  get playing(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Plays `durationMs` of audio (rounded up to whole packets), replacing anything playing.
   * `onPacket` gets the milliseconds sent so far after each packet; `onDone` fires once
   * when the last packet went out, never after `stop()`.
   */
  play(durationMs: number, onPacket: (sentMs: number) => void, onDone: () => void): void {
    this.stop();
    const total = Math.max(1, Math.ceil(durationMs / PACKET_MS));
    const start = this.now();
    let sent = 0;
    const tick = () => {
      // Catch up after a late timer instead of drifting: packets are due by wall clock.
      const due = Math.min(total, Math.floor((this.now() - start) / PACKET_MS) + 1);
      while (sent < due && this.timer === timer) {
        this.send(sent === 0);
        sent += 1;
        onPacket(sent * PACKET_MS);
      }
      if (sent >= total && this.timer === timer) {
        this.stop();
        onDone();
      }
    };
    const timer = setInterval(tick, PACKET_MS / 2);
    this.timer = timer;
    tick();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private send(startOfTalkspurt: boolean): void {
    const now = this.now();
    if (this.lastPacketAt !== undefined) {
      // The RTP clock keeps running through silence between answers, as receivers expect.
      const elapsed = startOfTalkspurt ? Math.max(PACKET_MS, now - this.lastPacketAt) : PACKET_MS;
      this.timestamp = (this.timestamp + Math.round(elapsed * TICKS_PER_MS)) >>> 0;
      this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    }
    this.lastPacketAt = now;
    const header = new RtpHeader({
      payloadType: 111,
      sequenceNumber: this.sequenceNumber,
      timestamp: this.timestamp,
      marker: startOfTalkspurt,
    });
    this.write(new RtpPacket(header, OPUS_SILENCE_FRAME));
  }
}
