/**
 * The handler's settings: params read at call time and checked, so that a misconfiguration
 * fails loudly with the param's name instead of minting something odd.
 */
import { ConfigError } from "./configError";
import { NOISE_REDUCTIONS, TURN_DETECTIONS, VAD_EAGERNESS } from "voice-contract";
import { type PlanBook, parsePlans } from "./plans";
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
  /** The declared plans (VOICE_PLANS); the pipeline applies the caller's to the limits above. */
  plans: PlanBook;
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
  /** Comma-separated. */
  ALLOWED_NOISE_REDUCTIONS: string;
  DEFAULT_NOISE_REDUCTION: string;
  /** Comma-separated. */
  ALLOWED_TURN_DETECTIONS: string;
  DEFAULT_TURN_DETECTION: string;
  /** Comma-separated. */
  ALLOWED_VAD_EAGERNESS: string;
  DEFAULT_VAD_EAGERNESS: string;
  /** JSON: plan name → limits it overrides (plans.ts). `{}` declares none. */
  VOICE_PLANS: string;
}

export { ConfigError };

type StringParam = {
  [K in keyof RawSettings]: RawSettings[K] extends string ? K : never;
}[keyof RawSettings];

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

/**
 * A comma list of which every entry is one of `known`, and a default from that list.
 * An unknown entry is a typo the client would otherwise be offered.
 */
function choiceSet<T extends string>(
  raw: RawSettings,
  listParam: StringParam,
  defaultParam: StringParam,
  known: readonly T[],
): { allowed: T[]; fallback: T } {
  const allowed = commaList(raw[listParam]);
  if (allowed.length === 0) throw new ConfigError(listParam, "must list at least one value");
  for (const value of allowed) {
    if (!(known as readonly string[]).includes(value)) {
      throw new ConfigError(listParam, `"${value}" is not one of ${known.join(", ")}`);
    }
  }
  const fallback = raw[defaultParam].trim();
  if (!allowed.includes(fallback)) {
    throw new ConfigError(defaultParam, `"${fallback}" is not in ${listParam}`);
  }
  return { allowed: allowed as T[], fallback: fallback as T };
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
  const noise = choiceSet(
    raw,
    "ALLOWED_NOISE_REDUCTIONS",
    "DEFAULT_NOISE_REDUCTION",
    NOISE_REDUCTIONS,
  );
  const turns = choiceSet(
    raw,
    "ALLOWED_TURN_DETECTIONS",
    "DEFAULT_TURN_DETECTION",
    TURN_DETECTIONS,
  );
  const eagerness = choiceSet(raw, "ALLOWED_VAD_EAGERNESS", "DEFAULT_VAD_EAGERNESS", VAD_EAGERNESS);
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
    choices: {
      voices,
      defaultVoice,
      languages: commaList(raw.ALLOWED_LANGUAGES),
      noiseReductions: noise.allowed,
      defaultNoiseReduction: noise.fallback,
      turnDetections: turns.allowed,
      defaultTurnDetection: turns.fallback,
      eagerness: eagerness.allowed,
      defaultEagerness: eagerness.fallback,
    },
    server: {
      model,
      instructions: raw.REALTIME_INSTRUCTIONS,
      transcriptionModel: raw.TRANSCRIPTION_MODEL.trim(),
    },
    plans: parsePlans(raw.VOICE_PLANS),
  };
}
