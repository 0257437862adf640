import { describe, expect, it } from "vitest";
import type { Refusal } from "../src/failure";
import { refusalMessage } from "../src/refusalMessage";

describe("refusalMessage", () => {
  it.each([
    [
      { reason: "user-interval", retryAfterSeconds: 4 },
      "You are requesting tokens too fast. Try again in 4 s.",
    ],
    [
      { reason: "daily-quota", retryAfterSeconds: 60 },
      "You have used today's realtime quota. It resets at midnight UTC, in 60 s.",
    ],
    [
      { reason: "ip-rate", counted: "mints", retryAfterSeconds: 7 },
      "Too many requests from your network. Try again in 7 s.",
    ],
    [
      { reason: "ip-rate", counted: "calls", retryAfterSeconds: 7 },
      "Too many calls from your network. Try again in 7 s.",
    ],
    [
      { reason: "upstream-rate", retryAfterSeconds: 12 },
      "OpenAI is rate limiting this app. Try again in 12 s.",
    ],
    [
      { reason: "daily-minutes", retryAfterSeconds: 3600 },
      "You have used today's voice minutes. They come back at midnight UTC, in 3600 s.",
    ],
    [
      { reason: "monthly-minutes", retryAfterSeconds: 86_400 },
      "You have used this month's voice minutes. They come back on the 1st (UTC), in 86400 s.",
    ],
  ] satisfies [Refusal, string][])("says %j as today's text", (refusal, text) => {
    expect(refusalMessage(refusal)).toBe(text);
  });
});
