import { formatWait } from "voice-contract";

/**
 * The page's one duration formatter: every wait, amount of voice time and countdown the user
 * reads goes through it, so they round the same way for the same purpose.
 */

/**
 * - `wait`: how long until something comes back (`45 s`, `12 min`, `3 h 5 min`); from a minute
 *   on, whole minutes rounded up, so a wait is never promised shorter than it is. This is the
 *   contract's `formatWait`, which the server's refusal texts use too.
 * - `amount`: voice time left or used (`45 s`, `12 min 30 s`, `2 h 5 min`); rounded down, so
 *   an amount is never shown larger than it is.
 * - `clock`: a countdown (`m:ss`, `h:mm:ss` from an hour), rounded down.
 */
export type DurationStyle = "wait" | "amount" | "clock";

/** `seconds` as the `style` says; negative durations read as zero. */
export function formatDuration(seconds: number, style: DurationStyle): string {
  if (style === "wait") return formatWait(Math.max(0, Math.ceil(seconds)));
  const s = Math.max(0, Math.floor(seconds));
  const totalMinutes = Math.floor(s / 60);
  const hours = Math.floor(totalMinutes / 60);
  const minutes = totalMinutes % 60;
  const rest = s % 60;
  if (style === "clock") {
    const pad = (n: number) => String(n).padStart(2, "0");
    return hours > 0 ? `${hours}:${pad(minutes)}:${pad(rest)}` : `${minutes}:${pad(rest)}`;
  }
  if (s < 60) return `${s} s`;
  if (hours > 0) return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}
