import { describe, expect, it } from "vitest";
import { CALL_LIMIT_REASONS, LIMIT_REASONS, formatWait, refusalMessage } from "../src/refusals.js";

describe("refusalMessage", () => {
  it("says a rate limit's wait in seconds", () => {
    expect(refusalMessage({ reason: "user-interval", retryAfterSeconds: 4 })).toBe(
      "You are requesting tokens too fast. Try again in 4 s.",
    );
    expect(refusalMessage({ reason: "ip-rate", retryAfterSeconds: 60 })).toBe(
      "Too many calls from your network. Try again in 60 s.",
    );
    expect(refusalMessage({ reason: "upstream-rate", retryAfterSeconds: 7 })).toBe(
      "OpenAI is rate limiting this app. Try again in 7 s.",
    );
  });

  it("says when a spent budget comes back, in hours and minutes", () => {
    expect(refusalMessage({ reason: "daily-quota", retryAfterSeconds: 3 * 3600 + 5 * 60 })).toBe(
      "You have used today's realtime quota. It resets at midnight UTC, in 3 h 5 min.",
    );
    expect(refusalMessage({ reason: "daily-minutes", retryAfterSeconds: 45 })).toBe(
      "You have used today's voice minutes. They come back at midnight UTC, in 45 s.",
    );
    expect(refusalMessage({ reason: "monthly-minutes", retryAfterSeconds: 2 * 86_400 })).toBe(
      "You have used this month's voice minutes. They come back on the 1st (UTC), in 48 h.",
    );
  });

  it("has a sentence for every reason of both callables", () => {
    for (const reason of new Set([...LIMIT_REASONS, ...CALL_LIMIT_REASONS])) {
      expect(refusalMessage({ reason, retryAfterSeconds: 1 })).toMatch(/^[A-Z].* in 1 s\.$/);
    }
  });
});

describe("formatWait", () => {
  it("rounds up to whole minutes past the first minute", () => {
    expect(formatWait(45)).toBe("45 s");
    expect(formatWait(60)).toBe("1 min");
    expect(formatWait(61)).toBe("2 min");
    expect(formatWait(3600)).toBe("1 h");
    expect(formatWait(3661)).toBe("1 h 2 min");
  });
});
