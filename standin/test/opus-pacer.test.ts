import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RtpPacket } from "werift";
import { OPUS_SILENCE_FRAME, OpusPacer } from "../src/opus-pacer.js";

describe("OpusPacer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function pacer() {
    const packets: RtpPacket[] = [];
    const instance = new OpusPacer({ write: (p) => packets.push(p), now: () => Date.now() });
    return { packets, instance };
  }

  it("sends one 20 ms packet per 20 ms of clock, then reports done", () => {
    const { packets, instance } = pacer();
    const progress: number[] = [];
    const done = vi.fn();
    instance.play(100, (ms) => progress.push(ms), done);
    expect(packets).toHaveLength(1);
    vi.advanceTimersByTime(45);
    expect(packets).toHaveLength(3);
    expect(done).not.toHaveBeenCalled();
    vi.advanceTimersByTime(200);
    expect(packets).toHaveLength(5);
    expect(progress).toEqual([20, 40, 60, 80, 100]);
    expect(done).toHaveBeenCalledOnce();
    expect(instance.playing).toBe(false);
    expect(packets[0]?.payload).toEqual(OPUS_SILENCE_FRAME);
    expect(packets.map((p) => p.header.marker)).toEqual([true, false, false, false, false]);
    const seqs = packets.map((p) => p.header.sequenceNumber);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(((seqs[i - 1] ?? 0) + 1) & 0xffff);
    const ts = packets.map((p) => p.header.timestamp);
    for (let i = 1; i < ts.length; i++) expect(((ts[i] ?? 0) - (ts[i - 1] ?? 0)) >>> 0).toBe(960);
  });

  it("stops on demand without reporting done, and keeps the RTP clock running across talkspurts", () => {
    const { packets, instance } = pacer();
    const done = vi.fn();
    instance.play(1000, () => {}, done);
    vi.advanceTimersByTime(50);
    instance.stop();
    const sent = packets.length;
    vi.advanceTimersByTime(1000);
    expect(packets).toHaveLength(sent);
    expect(done).not.toHaveBeenCalled();

    const last = packets.at(-1)?.header.timestamp ?? 0;
    instance.play(
      20,
      () => {},
      () => {},
    );
    const next = packets.at(-1);
    expect(next?.header.marker).toBe(true);
    // About a second of silence went by: the timestamp jumped by ~48 000 ticks, not 960.
    expect(((next?.header.timestamp ?? 0) - last) >>> 0).toBeGreaterThan(40_000);
  });
});
