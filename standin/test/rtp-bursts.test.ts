import { describe, expect, it } from "vitest";
import { RtpBurstLog } from "../src/rtp-bursts.js";

/** Packets every 20 ms from `from` to `to` (inclusive), `bytes` each. */
function stream(log: RtpBurstLog, from: number, to: number, bytes = 35) {
  for (let at = from; at <= to; at += 20) log.packet(at, bytes);
}

describe("RtpBurstLog", () => {
  it("keeps a steady 20 ms stream as one burst", () => {
    const log = new RtpBurstLog();
    stream(log, 1000, 2980);
    expect(log.bursts).toEqual([{ startedAt: 1000, endedAt: 2980, packets: 100, bytes: 3500 }]);
    expect(log.packets).toBe(100);
    expect(log.bytes).toBe(3500);
  });

  it("starts a new burst after a gap longer than gapMs, not at one of exactly gapMs", () => {
    const log = new RtpBurstLog({ gapMs: 200 });
    stream(log, 0, 100);
    log.packet(300, 60); // 200 ms after the last: same burst
    log.packet(501, 60); // 201 ms: a new one
    stream(log, 521, 601, 80);
    expect(log.bursts).toEqual([
      { startedAt: 0, endedAt: 300, packets: 7, bytes: 6 * 35 + 60 },
      { startedAt: 501, endedAt: 601, packets: 6, bytes: 60 + 5 * 80 },
    ]);
  });

  it("never moves a burst's end backwards on a reordered packet", () => {
    const log = new RtpBurstLog();
    log.packet(100, 1);
    log.packet(140, 1);
    log.packet(120, 1);
    expect(log.bursts).toEqual([{ startedAt: 100, endedAt: 140, packets: 3, bytes: 3 }]);
  });

  it("keeps only the latest maxBursts, while the totals count everything", () => {
    const log = new RtpBurstLog({ gapMs: 10, maxBursts: 2 });
    for (const at of [0, 100, 200]) log.packet(at, 5);
    expect(log.bursts.map((b) => b.startedAt)).toEqual([100, 200]);
    expect(log.packets).toBe(3);
    expect(log.bytes).toBe(15);
  });

  it("hands out copies", () => {
    const log = new RtpBurstLog();
    log.packet(0, 1);
    const [burst] = log.bursts;
    if (burst) burst.packets = 99;
    expect(log.bursts[0]?.packets).toBe(1);
  });
});
