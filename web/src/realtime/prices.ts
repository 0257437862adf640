/**
 * Realtime token prices, in US dollars per 1 million tokens.
 *
 * As of: {@link PRICES_AS_OF}. Source: {@link PRICES_SOURCE}. Prices change: check OpenAI's
 * pricing page before relying on a figure, then edit the rows and the date together. A model
 * missing here gets no money figure at all (never another model's price), so list dated
 * snapshots and aliases explicitly when their price is known. Prices are in whole tenths of
 * a cent (`cost.ts` computes in integer nano-dollars); a test checks that.
 */

/** What one model charges per 1M tokens, by kind. Cached input is input the server had seen. */
export interface TokenPrices {
  audioIn: number;
  cachedAudioIn: number;
  audioOut: number;
  textIn: number;
  cachedTextIn: number;
  textOut: number;
}

/** When the table was last checked against its source. */
export const PRICES_AS_OF = "2026-11";

/** Where the figures come from. */
export const PRICES_SOURCE =
  "OpenAI model pages (https://platform.openai.com/docs/models/gpt-realtime-2, " +
  "https://platform.openai.com/docs/models/gpt-realtime-mini), late 2026";

/** Per-model prices. Keys are the exact model names a session reports. */
export const REALTIME_PRICES: Readonly<Record<string, Readonly<TokenPrices>>> = {
  "gpt-realtime-2": {
    audioIn: 32,
    cachedAudioIn: 0.4,
    audioOut: 64,
    textIn: 4,
    cachedTextIn: 0.4,
    textOut: 24,
  },
  "gpt-realtime-mini": {
    audioIn: 10,
    cachedAudioIn: 0.3,
    audioOut: 20,
    textIn: 0.6,
    cachedTextIn: 0.06,
    textOut: 2.4,
  },
};

/** The prices of `model`, or null when the table does not know it. */
export function pricesFor(
  model: string,
  table: Readonly<Record<string, Readonly<TokenPrices>>> = REALTIME_PRICES,
): Readonly<TokenPrices> | null {
  return Object.hasOwn(table, model) ? (table[model] ?? null) : null;
}

/**
 * GPT-Live's per-minute prices, in US dollars, billed per second. Standby applies only to a
 * WebRTC session set up for it while inference is paused; muted input still bills active.
 */
export interface LiveMinutePrices {
  activePerMinute: number;
  standbyPerMinute: number;
}

/** When {@link LIVE_PRICES} was last checked against its source. */
export const LIVE_PRICES_AS_OF = "2026-11-20";

/** Where {@link LIVE_PRICES} comes from. */
export const LIVE_PRICES_SOURCE =
  "OpenAI's voice cost guide (GPT-Live: $0.05 per active minute, $0.02 per standby minute, " +
  "billed per second), as quoted by a third-party summary dated 2026-11-20";

/** Per-model Live prices. Keys are the exact model names `session.started` reports. */
export const LIVE_PRICES: Readonly<Record<string, Readonly<LiveMinutePrices>>> = {
  "gpt-live-1": { activePerMinute: 0.05, standbyPerMinute: 0.02 },
  "gpt-live-1.1": { activePerMinute: 0.05, standbyPerMinute: 0.02 },
};

/** The Live prices of `model`, or null when the table does not know it. */
export function livePricesFor(
  model: string,
  table: Readonly<Record<string, Readonly<LiveMinutePrices>>> = LIVE_PRICES,
): Readonly<LiveMinutePrices> | null {
  return Object.hasOwn(table, model) ? (table[model] ?? null) : null;
}
