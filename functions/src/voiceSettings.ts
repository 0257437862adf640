/**
 * Settings of server-controlled ("brokered") calls: which modes and upstreams the backend
 * serves, the voice-minute budget and the per-network call rate. Params are read at call time (`readRawVoiceSettings` in config.ts) and
 * checked here, so a misconfiguration fails loudly with the param's name.
 */
import { isVoiceApi, VOICE_APIS, type VoiceApi } from "voice-contract";
import { ConfigError } from "./configError";
import type { MinuteLimits } from "./minutes";

/** What the backend serves: `secret` (mint `ek_` secrets), `brokered` (post the offer itself). */
export const REALTIME_MODE_VALUES = ["secret", "brokered", "both"] as const;
export type RealtimeModes = (typeof REALTIME_MODE_VALUES)[number];

/** Upstream ends every Realtime session after 60 minutes; a longer call cannot exist. */
export const MAX_CALL_SECONDS_LIMIT = 3600;

export interface VoiceSettings {
  /** Whether `realtimeToken` may mint client secrets. */
  serveSecret: boolean;
  /** Whether the brokered-call callables are served. */
  serveBrokered: boolean;
  limits: MinuteLimits;
  /** Brokered calls per client network per minute, across all users (IP_CALLS_PER_MINUTE). */
  callsPerNetworkPerMinute: number;
  /** The upstreams brokered calls may open on (BROKERED_APIS); the first is the default. */
  apis: [VoiceApi, ...VoiceApi[]];
  /** The model of every GPT-Live call (LIVE_MODEL). */
  liveModel: string;
}

/** Raw param values, as `config.ts` yields them. */
export interface RawVoiceSettings {
  REALTIME_MODES: string;
  DAILY_VOICE_MINUTES: number;
  MONTHLY_VOICE_MINUTES: number;
  MAX_CALL_SECONDS: number;
  IP_CALLS_PER_MINUTE: number;
  BROKERED_APIS: string;
  LIVE_MODEL: string;
}

/** A voice param holds a value the function cannot work with: a {@link ConfigError}. */
export const VoiceConfigError = ConfigError;
export type VoiceConfigError = ConfigError<keyof RawVoiceSettings>;

function integer(
  raw: RawVoiceSettings,
  param: keyof RawVoiceSettings,
  min: number,
  max = Infinity,
) {
  const value = raw[param];
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;
    throw new ConfigError(param, `must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}

/** Checks raw params and derives settings. Throws {@link VoiceConfigError}. */
export function resolveVoiceSettings(raw: RawVoiceSettings): VoiceSettings {
  const modes = raw.REALTIME_MODES.trim().toLowerCase();
  if (!(REALTIME_MODE_VALUES as readonly string[]).includes(modes)) {
    throw new ConfigError(
      "REALTIME_MODES",
      `must be one of ${REALTIME_MODE_VALUES.join(", ")}, got "${raw.REALTIME_MODES}"`,
    );
  }
  return {
    serveSecret: modes !== "brokered",
    serveBrokered: modes !== "secret",
    limits: {
      dailySeconds: integer(raw, "DAILY_VOICE_MINUTES", 1) * 60,
      monthlySeconds: integer(raw, "MONTHLY_VOICE_MINUTES", 0) * 60,
      maxCallSeconds: integer(raw, "MAX_CALL_SECONDS", 1, MAX_CALL_SECONDS_LIMIT),
    },
    callsPerNetworkPerMinute: integer(raw, "IP_CALLS_PER_MINUTE", 1),
    apis: brokeredApis(raw.BROKERED_APIS),
    liveModel: liveModel(raw.LIVE_MODEL),
  };
}

function brokeredApis(value: string): [VoiceApi, ...VoiceApi[]] {
  const listed = value
    .split(",")
    .map((api) => api.trim().toLowerCase())
    .filter((api) => api !== "");
  const unknown = listed.find((api) => !isVoiceApi(api));
  if (unknown !== undefined || listed.length === 0)
    throw new ConfigError(
      "BROKERED_APIS",
      `must list one or more of ${VOICE_APIS.join(", ")}, comma-separated (the first is the default), got "${value}"`,
    );
  const [first, ...rest] = [...new Set(listed as VoiceApi[])];
  return [first as VoiceApi, ...rest];
}

function liveModel(value: string): string {
  const model = value.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(model))
    throw new ConfigError(
      "LIVE_MODEL",
      `must be a GPT-Live model name such as gpt-live-1, got "${value}"`,
    );
  return model;
}
