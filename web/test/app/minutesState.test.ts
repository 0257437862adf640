import { describe, expect, it } from "vitest";
import type { VoiceMinutes } from "voice-contract";
import {
  BLOCK_TICK_MS,
  isNewerFigure,
  MinutesState,
  minutesChannelName,
} from "../../src/app/minutesState";
import type { MinutesBlock, MinutesFigure } from "../../src/ui/minutes";
import { FakeMinutesHub, FakeTimers } from "../fakes";

const NOW = Date.parse("2026-11-10T23:59:00Z");
const MIDNIGHT = Date.parse("2026-11-11T00:00:00Z");
const minutes = (daySeconds: number, readAtMs: number): VoiceMinutes => ({
  daySeconds,
  dayResetsAtMs: MIDNIGHT,
  monthSeconds: null,
  monthResetsAtMs: null,
  readAtMs,
});

/** One tab: a MinutesState on the shared hub and clock, and what it told the page. */
function tab(hub: FakeMinutesHub, clock: { now: number }, uid: string | null = "u1") {
  const figures: Array<MinutesFigure | null> = [];
  const blocks: Array<MinutesBlock | null> = [];
  let refreshes = 0;
  const timers = new FakeTimers(() => clock.now);
  const state = new MinutesState({
    now: () => clock.now,
    channel: hub.channel,
    timer: timers.timer,
    onFigure: (figure) => void figures.push(figure),
    onBlock: (block) => void blocks.push(block),
    refresh: () => void refreshes++,
  });
  state.user(uid);
  return {
    state,
    timers,
    blocks,
    refreshes: () => refreshes,
    day: () => state.figure?.minutes.daySeconds ?? null,
    lastFigure: () => figures.at(-1),
  };
}

describe("isNewerFigure", () => {
  it("orders figures by when the server read them, whatever they say", () => {
    expect(isNewerFigure(minutes(30, 2), minutes(0, 1))).toBe(true);
    expect(isNewerFigure(minutes(0, 1), minutes(30, 2))).toBe(false);
    expect(isNewerFigure(minutes(30, 1), null)).toBe(true);
  });

  it("breaks a tie by the smaller figure, so every tab settles on the same one", () => {
    expect(isNewerFigure(minutes(0, 5), minutes(30, 5))).toBe(true);
    expect(isNewerFigure(minutes(30, 5), minutes(0, 5))).toBe(false);
    expect(isNewerFigure(minutes(30, 5), minutes(30, 5))).toBe(false);
    const capped = { ...minutes(30, 5), monthSeconds: 100, monthResetsAtMs: MIDNIGHT };
    expect(isNewerFigure(capped, minutes(30, 5))).toBe(true);
    expect(isNewerFigure(minutes(30, 5), capped)).toBe(false);
  });
});

describe("MinutesState", () => {
  it("keeps the newest figure: an answer that arrives late never replaces a newer one", () => {
    const hub = new FakeMinutesHub();
    const clock = { now: NOW };
    const a = tab(hub, clock);
    expect(a.state.offer("u1", minutes(16, NOW - 1_000))).toBe(true);
    // A prepare read before that end's refund, answered after it.
    expect(a.state.offer("u1", minutes(30, NOW - 5_000))).toBe(false);
    expect(a.day()).toBe(16);
    expect(a.state.offer("u1", minutes(4, NOW))).toBe(true);
    expect(a.day()).toBe(4);
    expect(a.lastFigure()).toEqual({ minutes: minutes(4, NOW), receivedAtMs: NOW });
  });

  it("two tabs of one user agree: each takes the other's newer figure, never an older one", () => {
    const hub = new FakeMinutesHub();
    const clock = { now: NOW - 60_000 };
    const a = tab(hub, clock);
    const b = tab(hub, clock);
    // Both in calls: A's open left 30 s, then B's open (read later) left 0 s.
    a.state.offer("u1", minutes(30, NOW - 60_000));
    b.state.offer("u1", minutes(0, NOW - 59_000));
    expect([a.day(), b.day()]).toEqual([0, 0]);
    // A hangs up early: its end's refund is the newest; B's call then runs to its deadline,
    // and B's end answer (already ended) reads the same counters later still.
    a.state.offer("u1", minutes(16, NOW - 50_000));
    expect([a.day(), b.day()]).toEqual([16, 16]);
    b.state.offer("u1", minutes(16, NOW - 40_000));
    expect([a.day(), b.day()]).toEqual([16, 16]);
    // A message that arrives late (held in the channel) is older than what a tab has.
    hub.held = true;
    a.state.offer("u1", minutes(12, NOW - 30_000));
    b.state.offer("u1", minutes(8, NOW - 20_000));
    hub.deliver();
    expect([a.day(), b.day()]).toEqual([8, 8]);
    // Only a kept figure is shared.
    expect(hub.posted.map((p) => p.message.minutes.daySeconds)).toEqual([30, 0, 16, 16, 12, 8]);
    expect(a.state.offer("u1", minutes(30, NOW - 60_000))).toBe(false);
    expect(hub.posted).toHaveLength(6);
  });

  it("hears only its own user's channel, and ignores what is not a figure", () => {
    const hub = new FakeMinutesHub();
    const clock = { now: NOW };
    const a = tab(hub, clock, "u1");
    const other = tab(hub, clock, "u2");
    other.state.offer("u2", minutes(0, NOW));
    expect(a.day()).toBeNull();
    const name = minutesChannelName("u1");
    hub.inject(name, { uid: "u2", minutes: minutes(0, NOW), receivedAtMs: NOW });
    hub.inject(name, { uid: "u1", minutes: { daySeconds: 0 }, receivedAtMs: NOW });
    hub.inject(name, { uid: "u1", minutes: minutes(0, NOW), receivedAtMs: "now" });
    hub.inject(name, "junk");
    expect(a.day()).toBeNull();
    hub.inject(name, { uid: "u1", minutes: minutes(0, NOW), receivedAtMs: NOW });
    expect(a.day()).toBe(0);
    // An answer for a user who is no longer signed in is not kept.
    expect(a.state.offer("u2", minutes(9, NOW + 1))).toBe(false);
  });

  it("forgets the last user's figure and block when the user changes, and closes its channel", () => {
    const hub = new FakeMinutesHub();
    const clock = { now: NOW };
    const a = tab(hub, clock);
    a.state.offer("u1", minutes(0, NOW));
    expect(a.blocks.at(-1)?.reason).toBe("daily-minutes");
    a.state.user("u2");
    expect(a.lastFigure()).toBeNull();
    expect(a.blocks.at(-1)).toBeNull();
    expect(hub.open).toBe(1);
    a.state.dispose();
    a.state.dispose();
    expect(hub.open).toBe(0);
  });

  it("blocks Connect while a budget is spent, counts down to its reset, then asks the server again", () => {
    const hub = new FakeMinutesHub();
    const clock = { now: NOW };
    const a = tab(hub, clock);
    a.state.offer("u1", minutes(0, NOW));
    expect(a.blocks).toHaveLength(1);
    expect(a.blocks[0]).toMatchObject({ reason: "daily-minutes", backAtMs: MIDNIGHT });
    expect(a.blocks[0]?.message).toBe(
      "You have used today's voice minutes. They come back in 1 min (midnight UTC).",
    );
    clock.now = MIDNIGHT - 30_500;
    a.timers.run();
    expect(a.blocks.at(-1)?.message).toContain("come back in 31 s (midnight UTC)");
    expect(a.refreshes()).toBe(0);
    clock.now = MIDNIGHT;
    a.timers.run();
    expect(a.blocks.at(-1)).toBeNull();
    expect(a.refreshes()).toBe(1);
    expect(a.timers.pending).toBe(0);
  });

  it("lifts the block when a newer figure says minutes are back (another tab's refund), without asking", () => {
    const hub = new FakeMinutesHub();
    const clock = { now: NOW };
    const a = tab(hub, clock);
    const b = tab(hub, clock);
    b.state.offer("u1", minutes(0, NOW));
    expect(a.blocks.at(-1)?.reason).toBe("daily-minutes");
    a.state.offer("u1", minutes(16, NOW + 1));
    expect(a.blocks.at(-1)).toBeNull();
    expect(b.blocks.at(-1)).toBeNull();
    expect([a.refreshes(), b.refreshes()]).toEqual([0, 0]);
    expect([a.timers.pending, b.timers.pending]).toEqual([0, 0]);
  });

  it("places the reset on the page's clock by its distance from the server's read", () => {
    const hub = new FakeMinutesHub();
    // The page's clock runs 10 min behind the server's.
    const clock = { now: NOW - 600_000 };
    const a = tab(hub, clock);
    a.state.offer("u1", minutes(0, NOW));
    expect(a.blocks[0]?.backAtMs).toBe(MIDNIGHT - 600_000);
    expect(a.blocks[0]?.message).toContain("in 1 min (midnight UTC)");
    // Blocked on: by the page's clock, midnight (the server's) is still 59 s away.
    clock.now += BLOCK_TICK_MS;
    a.timers.run();
    expect(a.blocks.at(-1)?.message).toContain("in 59 s (midnight UTC)");
    expect(a.refreshes()).toBe(0);
  });
});
