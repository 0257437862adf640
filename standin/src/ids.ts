import { randomBytes } from "node:crypto";

/** Prefixes of the identifiers the stand-in hands out; they mirror upstream's. */
export type IdPrefix =
  "ek" | "sess" | "rtc" | "conv" | "event" | "item" | "resp" | "call" | "req" | "live";

/** Makes a fresh identifier such as `item_3f9c…`. Injected so pure modules stay deterministic in tests. */
export type NewId = (prefix: IdPrefix) => string;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Random base62 identifiers (secrets must not be guessable, even fake ones). */
export const randomId: NewId = (prefix) => {
  const bytes = randomBytes(24);
  let body = "";
  // 248 is the largest multiple of 62 below 256: rejecting the rest keeps the digits uniform.
  for (const byte of bytes) if (byte < 248) body += ALPHABET[byte % 62];
  return `${prefix}_${body.slice(0, 22)}`;
};

/** Counter-based identifiers (`item_1`, `item_2`, …) for unit tests. */
export function sequentialIds(): NewId {
  const counters = new Map<IdPrefix, number>();
  return (prefix) => {
    const next = (counters.get(prefix) ?? 0) + 1;
    counters.set(prefix, next);
    return `${prefix}_${next}`;
  };
}
