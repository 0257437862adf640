/**
 * The user-facing text of each refusal reason, in one place. Pure, so that the web client can
 * show the same words (the `voice-contract` package is to carry the same function).
 */
import type { Refusal } from "./failure";

/** What to tell the user whose request a budget refused, with when to try again. */
export function refusalMessage(refusal: Refusal): string {
  const seconds = refusal.retryAfterSeconds;
  switch (refusal.reason) {
    case "user-interval":
      return `You are requesting tokens too fast. Try again in ${seconds} s.`;
    case "daily-quota":
      return `You have used today's realtime quota. It resets at midnight UTC, in ${seconds} s.`;
    case "daily-minutes":
      return `You have used today's voice minutes. They come back at midnight UTC, in ${seconds} s.`;
    case "monthly-minutes":
      return `You have used this month's voice minutes. They come back on the 1st (UTC), in ${seconds} s.`;
    case "ip-rate":
      return `Too many ${refusal.counted === "mints" ? "requests" : "calls"} from your network. Try again in ${seconds} s.`;
    case "upstream-rate":
      return `OpenAI is rate limiting this app. Try again in ${seconds} s.`;
  }
}
