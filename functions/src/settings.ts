/**
 * The handler's settings: params read at call time and checked, so that a misconfiguration
 * fails loudly with the param's name instead of minting something odd.
 */
import type { Limits } from "./policy";
import { boundTtlSeconds } from "./policy";
import type { ServerSessionConfig, SessionChoicesPolicy } from "./session";

export interface Settings {
  limits: Limits;
  ttlSeconds: number;
  timeoutMs: number;
  /** Deadline of each Firestore step (reserve, settle, refund). */
  firestoreTimeoutMs: number;
  retentionDays: number;
  replayProtection: boolean;
  choices: SessionChoicesPolicy;
  server: ServerSessionConfig;
}

/** Raw param values, as `config.ts` yields them. */
export interface RawSettings {
  USER_MIN_INTERVAL_SECONDS: number;
  USER_DAILY_QUOTA: number;
  IP_MINTS_PER_MINUTE: number;
  CLIENT_SECRET_TTL_SECONDS: number;
  OPENAI_TIMEOUT_MS: number;
  FIRESTORE_TIMEOUT_MS: number;
  AUDIT_RETENTION_DAYS: number;
  APP_CHECK_REPLAY_PROTECTION: boolean;
  /** Comma-separated. */
  ALLOWED_VOICES: string;
  DEFAULT_VOICE: string;
  /** Comma-separated. */
  ALLOWED_LANGUAGES: string;
  REALTIME_MODEL: string;
  REALTIME_INSTRUCTIONS: string;
  TRANSCRIPTION_MODEL: string;
}

/** A param holds a value the function cannot work with. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly param: keyof RawSettings,
    message: string,
  ) {
    super(`${param}: ${message}`);
  }
}

function nonNegativeInt(raw: RawSettings, param: keyof RawSettings, min = 0): number {
  const value = raw[param];
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new ConfigError(param, `must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function commaList(value: string): string[] {
  return [
    ...new Set(
      value
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v !== ""),
    ),
  ];
}

/** Checks raw params and derives settings. Throws {@link ConfigError}. */
export function resolveSettings(raw: RawSettings): Settings {
  const voices = commaList(raw.ALLOWED_VOICES);
  if (voices.length === 0) throw new ConfigError("ALLOWED_VOICES", "must list at least one voice");
  const defaultVoice = raw.DEFAULT_VOICE.trim();
  if (!voices.includes(defaultVoice)) {
    throw new ConfigError("DEFAULT_VOICE", `"${defaultVoice}" is not in ALLOWED_VOICES`);
  }
  const model = raw.REALTIME_MODEL.trim();
  if (model === "") throw new ConfigError("REALTIME_MODEL", "must not be empty");
  return {
    limits: {
      userMinIntervalMs: nonNegativeInt(raw, "USER_MIN_INTERVAL_SECONDS") * 1000,
      userDailyQuota: nonNegativeInt(raw, "USER_DAILY_QUOTA"),
      networkPerWindow: nonNegativeInt(raw, "IP_MINTS_PER_MINUTE"),
    },
    ttlSeconds: boundTtlSeconds(nonNegativeInt(raw, "CLIENT_SECRET_TTL_SECONDS")),
    timeoutMs: nonNegativeInt(raw, "OPENAI_TIMEOUT_MS", 100),
    firestoreTimeoutMs: nonNegativeInt(raw, "FIRESTORE_TIMEOUT_MS", 100),
    retentionDays: nonNegativeInt(raw, "AUDIT_RETENTION_DAYS", 1),
    replayProtection: raw.APP_CHECK_REPLAY_PROTECTION,
    choices: { voices, defaultVoice, languages: commaList(raw.ALLOWED_LANGUAGES) },
    server: {
      model,
      instructions: raw.REALTIME_INSTRUCTIONS,
      transcriptionModel: raw.TRANSCRIPTION_MODEL.trim(),
    },
  };
}
