/**
 * OpenAI's voice prices, dated, and what a call's minutes are estimated to cost from them.
 * One source for every package: the page prices each response's tokens and each Live second
 * (`web/src/realtime/prices.ts` re-exports these tables), and the operator's usage
 * (`npm run usage`, `operatorUsage`) prices the seconds calls used.
 *
 * Prices change: check OpenAI's pricing pages before relying on a figure, then edit the rows
 * and {@link PRICES_AS_OF} together. A model missing here gets no money figure at all (never
 * another model's price).
 */
import type { VoiceApi } from "./live.js";

/** What one Realtime model charges per 1M tokens, by kind. Cached input is input the server had seen. */
export interface TokenPrices {
  audioIn: number;
  cachedAudioIn: number;
  audioOut: number;
  textIn: number;
  cachedTextIn: number;
  textOut: number;
}

/** When the tables were last checked against their sources. */
export const PRICES_AS_OF = "2026-11";

/** Where the figures come from. */
export const PRICES_SOURCE =
  "OpenAI model pages (https://platform.openai.com/docs/models/gpt-realtime-2, " +
  "https://platform.openai.com/docs/models/gpt-realtime-mini) and OpenAI's voice cost guide " +
  "for GPT-Live, late 2026";

/** Realtime prices per 1M tokens. Keys are the exact model names a session reports. */
export const REALTIME_TOKEN_PRICES: Readonly<Record<string, Readonly<TokenPrices>>> = {
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

/**
 * Realtime audio tokens per second: user audio about 1 per 100 ms, assistant audio about 1
 * per 50 ms (OpenAI's figures).
 */
export const AUDIO_TOKENS_PER_SECOND = { in: 10, out: 20 } as const;

/**
 * The estimate's assumption for a Realtime call: half of its seconds the user speaks, half the
 * assistant does, all of it audio. It leaves out what Realtime bills beside that (the
 * conversation is input again on every turn, mostly cached; input transcription; text), so a
 * long call costs more than this; the page's per-response figure is the exact one.
 */
export const REALTIME_SPEAKING_SHARE = { user: 0.5, assistant: 0.5 } as const;

/**
 * Estimated USD per minute of a call on `api` with `model`, or null when no table prices it.
 * Realtime: from the token prices under {@link REALTIME_SPEAKING_SHARE}; Live: its own price.
 */
export function usdPerCallMinute(api: VoiceApi, model: string): number | null {
  // Every second counts as active: the usage the server keeps does not split out standby.
  if (api === "live")
    return Object.hasOwn(LIVE_PRICES, model) ? (LIVE_PRICES[model]?.activePerMinute ?? null) : null;
  const prices = Object.hasOwn(REALTIME_TOKEN_PRICES, model) ? REALTIME_TOKEN_PRICES[model] : null;
  if (prices == null) return null;
  const tokensIn = 60 * REALTIME_SPEAKING_SHARE.user * AUDIO_TOKENS_PER_SECOND.in;
  const tokensOut = 60 * REALTIME_SPEAKING_SHARE.assistant * AUDIO_TOKENS_PER_SECOND.out;
  return (tokensIn * prices.audioIn + tokensOut * prices.audioOut) / 1_000_000;
}

/**
 * Estimated USD of `seconds` of calls on `api` with `model`, rounded to a millionth of a
 * dollar; null when no table prices the model.
 */
export function estimateCallCostUsd(api: VoiceApi, model: string, seconds: number): number | null {
  const perMinute = usdPerCallMinute(api, model);
  if (perMinute === null) return null;
  return Math.round((seconds * perMinute * 1_000_000) / 60) / 1_000_000;
}
