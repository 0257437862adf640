import { describe, expect, it } from "vitest";
import type { VoiceMinutes } from "voice-contract";
import { RealtimeConnectError } from "../../src/realtime/errors";
import { toBrokeredConnectError } from "../../src/backend/brokered";
import {
  connectBlock,
  countdown,
  warningSeconds,
  describeBrokeredRefusal,
  describeServerEnd,
  endedByDeadline,
  localDeadline,
  minutesLeftText,
  MinutesView,
  spentBudget,
  type MinutesFigure,
  type OpenCall,
} from "../../src/ui/minutes";
import { formatDuration } from "../../src/duration";
import { fakeMinutesElements } from "../fakes";

const NOW = Date.parse("2026-11-10T21:00:00Z");
const MIDNIGHT = Date.parse("2026-11-11T00:00:00Z");
const MONTH_END = Date.parse("2026-12-01T00:00:00Z");
const DAY_ONLY: VoiceMinutes = {
  daySeconds: 750,
  dayResetsAtMs: MIDNIGHT,
  monthSeconds: null,
  monthResetsAtMs: null,
  readAtMs: NOW,
};
const CAPPED: VoiceMinutes = { ...DAY_ONLY, monthSeconds: 7500, monthResetsAtMs: MONTH_END };

function openCall(overrides: Partial<OpenCall> = {}): OpenCall {
  return {
    callId: "rtc_1",
    endsAtMs: NOW + 600_000,
    deadlineMs: NOW + 600_000,
    sliceSeconds: 600,
    limitedBy: "call",
    minutes: DAY_ONLY,
    ...overrides,
  };
}

describe("minute texts", () => {
  it("formats voice time and the countdown clock", () => {
    expect(formatDuration(45, "amount")).toBe("45 s");
    expect(formatDuration(750, "amount")).toBe("12 min 30 s");
    expect(formatDuration(600, "amount")).toBe("10 min");
    expect(formatDuration(7500, "amount")).toBe("2 h 5 min");
    expect(formatDuration(-3, "amount")).toBe("0 s");
    expect(formatDuration(65, "clock")).toBe("1:05");
    expect(formatDuration(3725, "clock")).toBe("1:02:05");
  });

  it("shows this month's minutes only when there is a monthly cap", () => {
    expect(minutesLeftText(DAY_ONLY)).toBe("12 min 30 s today");
    expect(minutesLeftText(CAPPED)).toBe("12 min 30 s today · 2 h 5 min this month");
  });
});

describe("deadline and countdown", () => {
  it("takes the earlier of the server's deadline and the slice from the answer's arrival", () => {
    // Page clock 10 s behind the server's: the slice from arrival is the nearer bound.
    expect(localDeadline({ endsAtMs: NOW + 610_000, sliceSeconds: 600 }, NOW)).toBe(NOW + 600_000);
    // Page clock ahead: the server's deadline reads early, and is used.
    expect(localDeadline({ endsAtMs: NOW + 590_000, sliceSeconds: 600 }, NOW)).toBe(NOW + 590_000);
  });

  it("warns a long call in its last minute and ends at the deadline", () => {
    const deadline = NOW + 600_000;
    expect(countdown(deadline, NOW, 600)).toEqual({ phase: "running", secondsLeft: 600 });
    expect(countdown(deadline, NOW + 539_001, 600)).toEqual({ phase: "running", secondsLeft: 61 });
    expect(countdown(deadline, NOW + 540_000, 600)).toEqual({ phase: "warning", secondsLeft: 60 });
    expect(countdown(deadline, NOW + 599_500, 600)).toEqual({ phase: "warning", secondsLeft: 1 });
    expect(countdown(deadline, NOW + 600_000, 600)).toEqual({ phase: "ended", secondsLeft: 0 });
  });

  it("warns a short call only in its last fifth, never from its first second", () => {
    // 30 s: the last 6 s.
    const deadline = NOW + 30_000;
    expect(countdown(deadline, NOW, 30)).toEqual({ phase: "running", secondsLeft: 30 });
    expect(countdown(deadline, NOW + 23_001, 30)).toEqual({ phase: "running", secondsLeft: 7 });
    expect(countdown(deadline, NOW + 24_000, 30)).toEqual({ phase: "warning", secondsLeft: 6 });
    // 2 min: the last 24 s; 5 min and longer: the last minute.
    expect(warningSeconds(120)).toBe(24);
    expect(warningSeconds(12)).toBe(3);
    expect(warningSeconds(300)).toBe(60);
    expect(warningSeconds(3_600)).toBe(60);
  });

  it("takes a loss near or after the deadline for the server's hang-up, never a Disconnect", () => {
    const lost = { kind: "channel-closed" } as const;
    expect(endedByDeadline(lost, NOW, NOW + 900)).toBe(true);
    expect(endedByDeadline(lost, NOW, NOW - 4_000)).toBe(true);
    expect(endedByDeadline(lost, NOW, NOW - 30_000)).toBe(false);
    expect(endedByDeadline({ kind: "ice-failed" }, NOW, NOW + 100)).toBe(true);
    expect(endedByDeadline({ kind: "client" }, NOW, NOW + 100)).toBe(false);
  });

  it("judges a silent server by when it was last heard, not by when the page noticed", () => {
    const silent = { kind: "unresponsive", silentMs: 8_000 } as const;
    // Fell silent 10 s before the deadline, noticed 2 s before it: a loss to reconnect.
    expect(endedByDeadline(silent, NOW, NOW - 2_000)).toBe(false);
    // Noticed after the deadline, but silent since 6 s before it: still a loss.
    expect(endedByDeadline(silent, NOW, NOW + 2_000)).toBe(false);
    // Silent from about the deadline on: the server hung up and the close never arrived.
    expect(endedByDeadline(silent, NOW, NOW + 8_000)).toBe(true);
    expect(endedByDeadline(silent, NOW, NOW + 4_000)).toBe(true);
  });
});

/** A figure received at the server's read time (page and server clocks agree). */
const figure = (minutes: VoiceMinutes): MinutesFigure => ({
  minutes,
  receivedAtMs: minutes.readAtMs,
});
const SPENT: VoiceMinutes = { ...DAY_ONLY, daySeconds: 0 };

describe("describeServerEnd", () => {
  it("names the per-call limit and offers a new call, quoting no amount that could be stale", () => {
    expect(describeServerEnd(openCall(), figure(DAY_ONLY), NOW)).toEqual({
      kind: "ended-call-limit",
      message:
        "The call reached its 10 min limit, so the server ended it. Press Reconnect to start a " +
        "new call.",
      action: null,
    });
  });

  it("judges by the newest figure, not the one the call opened with", () => {
    // The call opened with 12 min 30 s left; another tab's call has spent them since.
    const spentMeanwhile = describeServerEnd(
      openCall(),
      figure({ ...SPENT, readAtMs: NOW + 5 }),
      NOW,
    );
    expect(spentMeanwhile).toEqual({
      kind: "ended-daily-minutes",
      message:
        "The call reached its 10 min limit, so the server ended it. You have used today's " +
        "voice minutes. They come back in 3 h (midnight UTC).",
      action: null,
    });
    // The call's slice spent the day, but another tab's refund has given some back since.
    const refunded = describeServerEnd(
      openCall({ limitedBy: "daily-minutes", minutes: SPENT, sliceSeconds: 30 }),
      figure({ ...DAY_ONLY, daySeconds: 16, readAtMs: NOW + 5 }),
      NOW,
    );
    expect(refunded.kind).toBe("ended-call-limit");
    expect(refunded.message).toBe(
      "The call reached its 30 s limit, so the server ended it. Press Reconnect to start a new call.",
    );
    expect(refunded.message).not.toMatch(/today left|16 s/);
  });

  it("names the daily budget and when it comes back", () => {
    const banner = describeServerEnd(
      openCall({ limitedBy: "daily-minutes", minutes: SPENT }),
      figure(SPENT),
      NOW,
    );
    expect(banner).toEqual({
      kind: "ended-daily-minutes",
      message:
        "The call used up today's voice minutes, so the server ended it. They come back in 3 h " +
        "(midnight UTC).",
      action: null,
    });
  });

  it("names the monthly budget and when it comes back", () => {
    const monthSpent = { ...CAPPED, monthSeconds: 0 };
    const banner = describeServerEnd(
      openCall({ limitedBy: "monthly-minutes", minutes: monthSpent }),
      figure(monthSpent),
      NOW,
    );
    expect(banner.kind).toBe("ended-monthly-minutes");
    expect(banner.message).toContain("this month's voice minutes");
    // 20 days and 3 hours to 1 December.
    expect(banner.message).toContain("in 483 h (the 1st of the month, UTC)");
  });
});

describe("spentBudget and connectBlock", () => {
  it("names the spent budget that comes back last, the longer period on a tie", () => {
    expect(spentBudget(DAY_ONLY)).toBeNull();
    expect(spentBudget(SPENT)).toBe("daily-minutes");
    expect(spentBudget({ ...CAPPED, monthSeconds: 0 })).toBe("monthly-minutes");
    expect(spentBudget({ ...CAPPED, daySeconds: 0, monthSeconds: 0 })).toBe("monthly-minutes");
    // A month that ends at midnight: both back at once, the month is named.
    const tie = { ...CAPPED, daySeconds: 0, monthSeconds: 0, monthResetsAtMs: MIDNIGHT };
    expect(spentBudget(tie)).toBe("monthly-minutes");
  });

  it("leaves Connect off with the reason and when the minutes come back, until then", () => {
    expect(connectBlock(null, NOW)).toBeNull();
    expect(connectBlock(figure(DAY_ONLY), NOW)).toBeNull();
    expect(connectBlock(figure(SPENT), NOW)).toEqual({
      reason: "daily-minutes",
      backAtMs: MIDNIGHT,
      message: "You have used today's voice minutes. They come back in 3 h (midnight UTC).",
    });
    expect(connectBlock(figure(SPENT), MIDNIGHT - 1)?.message).toContain("in 1 s (midnight UTC)");
    expect(connectBlock(figure(SPENT), MIDNIGHT)).toBeNull();
    const month = connectBlock(figure({ ...CAPPED, monthSeconds: 0 }), NOW);
    expect(month?.reason).toBe("monthly-minutes");
    expect(month?.message).toBe(
      "You have used this month's voice minutes. They come back in 483 h (the 1st of the month, UTC).",
    );
  });
});

describe("describeBrokeredRefusal", () => {
  const refusal = (details: Record<string, unknown>, code = "functions/resource-exhausted") =>
    toBrokeredConnectError({ code, message: "refused", details });

  it("says when today's minutes come back, from the refusal's minutes or its wait", () => {
    expect(
      describeBrokeredRefusal(
        refusal({ reason: "daily-minutes", retryAfterSeconds: 10_800, minutes: DAY_ONLY }),
        NOW,
      ),
    ).toEqual({
      kind: "refused-daily-minutes",
      message: "You have used today's voice minutes. They come back in 3 h (midnight UTC).",
      action: null,
    });
    expect(
      describeBrokeredRefusal(refusal({ reason: "daily-minutes", retryAfterSeconds: 90 }), NOW)
        ?.message,
    ).toBe("You have used today's voice minutes. They come back in 2 min (midnight UTC).");
  });

  it("types this month's refusal", () => {
    const banner = describeBrokeredRefusal(
      refusal({ reason: "monthly-minutes", retryAfterSeconds: 3600, minutes: CAPPED }),
      NOW,
    );
    expect(banner?.kind).toBe("refused-monthly-minutes");
  });

  it("says a network over its call allowance is shared by everyone on it, with the wait", () => {
    expect(
      describeBrokeredRefusal(refusal({ reason: "ip-rate", retryAfterSeconds: 20 }), NOW),
    ).toEqual({
      kind: "refused-ip-rate",
      message:
        "Too many calls from your network right now; try again in 20 s. Everyone on your " +
        "network (an office, a campus) shares one allowance of calls per minute.",
      action: null,
    });
    // OpenAI's own rate limit is not the network's: the generic message applies.
    expect(
      describeBrokeredRefusal(refusal({ reason: "upstream-rate", retryAfterSeconds: 7 }), NOW),
    ).toBeNull();
  });

  it("says what a backend that does not serve brokered calls serves", () => {
    const banner = describeBrokeredRefusal(
      refusal({ reason: "mode-not-served", served: ["secret"] }, "functions/failed-precondition"),
      NOW,
    );
    expect(banner?.kind).toBe("mode-not-served");
    expect(banner?.message).toContain("It serves secret calls.");
    expect(banner?.message).toContain("VITE_REALTIME_MODE");
  });

  it("says which voice APIs a backend serves when it does not serve the page's", () => {
    const banner = describeBrokeredRefusal(
      refusal({ reason: "api-not-served", served: ["realtime"] }, "functions/failed-precondition"),
      NOW,
    );
    expect(banner?.kind).toBe("api-not-served");
    expect(banner?.message).toContain("It serves realtime calls.");
    expect(banner?.message).toContain("BROKERED_APIS");
  });

  it("leaves every other failure to the generic messages", () => {
    expect(describeBrokeredRefusal(refusal({}, "functions/unavailable"), NOW)).toBeNull();
    expect(
      describeBrokeredRefusal(new RealtimeConnectError("sdp", "timeout", "Too slow."), NOW),
    ).toBeNull();
  });
});

describe("MinutesView", () => {
  it("shows minutes, and marks them while an end call is on its way", () => {
    const els = fakeMinutesElements();
    const view = new MinutesView(els, () => NOW);
    view.renderMinutes(CAPPED, "ending");
    expect(els.left.dataset).toMatchObject({
      state: "ending",
      daySeconds: "750",
      monthSeconds: "7500",
    });
    expect(els.left.textContent).toContain("(updating…)");
    view.renderMinutes(DAY_ONLY);
    expect(els.left.dataset).toMatchObject({ state: "known", monthSeconds: "" });
    expect(els.left.textContent).toBe("12 min 30 s today");
  });

  it("counts down, shows the warning in the last minute and hides both when stopped", () => {
    const els = fakeMinutesElements();
    let now = NOW;
    const view = new MinutesView(els, () => now);
    view.startCountdown(openCall({ deadlineMs: NOW + 61_000, endsAtMs: 123 }));
    expect(els.clock.hidden).toBe(false);
    expect(els.clock.dataset).toMatchObject({ phase: "running", secondsLeft: "61", endsAt: "123" });
    expect(els.clock.textContent).toBe("1:01 left");
    expect(els.warning.hidden).toBe(true);
    now += 2_000;
    view.startCountdown(openCall({ deadlineMs: NOW + 61_000 }));
    expect(els.clock.dataset.phase).toBe("warning");
    expect(els.warning.hidden).toBe(false);
    view.stopCountdown();
    view.stopCountdown();
    expect(els.clock.hidden).toBe(true);
    expect(els.warning.hidden).toBe(true);
    expect(els.clock.dataset.phase).toBe("none");
  });
});
