/**
 * Every deploy-time parameter of the functions, in one place.
 *
 * Values come from `functions/.env` (committed: it repeats every default below, because the
 * Functions emulator writes any param it finds no value for into `.env.local`, which then
 * overrides the per-project files), `functions/.env.<projectId>` and, for the secret, Secret
 * Manager (`functions/.secret.local` in the emulator). Call `.value()` only inside handlers.
 *
 * Lists other than ALLOWED_ORIGINS are comma-separated strings: the emulator hands list params
 * to the SDK unparsed, so a `defineList` only works there when written as a JSON array.
 */
import {
  defineBoolean,
  defineInt,
  defineList,
  defineSecret,
  defineString,
} from "firebase-functions/params";
import type { RawSettings } from "./settings";
import { DEFAULT_USER_MIN_INTERVAL_SECONDS } from "voice-contract";
import type { RawVoiceSettings } from "./voiceSettings";

/** The standard OpenAI key (`sk-…`). Only the server holds it; it never leaves the function. */
export const OPENAI_API_KEY = defineSecret("OPENAI_API_KEY");

export const REGION = defineString("REGION", {
  default: "us-central1",
  description:
    "Region of the realtimeToken function; the web app's VITE_FUNCTIONS_REGION must match.",
});

/** No default: `firebase deploy` asks for your app's origins the first time. */
export const ALLOWED_ORIGINS = defineList("ALLOWED_ORIGINS", {
  description:
    "Browser origins allowed to call realtimeToken (CORS), as a JSON array, e.g. " +
    '["https://my-app.web.app","https://my-app.firebaseapp.com"]',
});

export const MAX_INSTANCES = defineInt("MAX_INSTANCES", {
  default: 10,
  description: "Upper bound on concurrent function instances: a cost ceiling under abuse.",
});

export const APP_CHECK_REPLAY_PROTECTION = defineBoolean("APP_CHECK_REPLAY_PROTECTION", {
  default: true,
  description:
    "Consume each App Check token and reject replays. Clients must then call with " +
    "limitedUseAppCheckTokens: true. Turn off only for clients that cannot get limited-use tokens.",
});

export const REALTIME_MODEL = defineString("REALTIME_MODEL", {
  default: "gpt-realtime-2",
  description: "The Realtime model every session runs. Clients cannot choose it.",
});

export const REALTIME_INSTRUCTIONS = defineString("REALTIME_INSTRUCTIONS", {
  default:
    "You are a friendly, concise voice assistant. Answer in the user's language. " +
    "Keep answers short unless asked for detail.",
  description: "System instructions of every session.",
});

export const DEFAULT_VOICE = defineString("DEFAULT_VOICE", {
  default: "marin",
  description: "Voice used when the client does not pick one; must be in ALLOWED_VOICES.",
});

export const ALLOWED_VOICES = defineString("ALLOWED_VOICES", {
  default: "alloy,ash,ballad,coral,echo,sage,shimmer,verse,marin,cedar",
  description: "Voices a client may pick, comma-separated.",
});

export const ALLOWED_LANGUAGES = defineString("ALLOWED_LANGUAGES", {
  default: "en,es,fr,de,it,pt,nl,pl,ja,ko,zh,hi",
  description: "ISO-639-1 transcription language hints a client may pick, comma-separated.",
});

export const TRANSCRIPTION_MODEL = defineString("TRANSCRIPTION_MODEL", {
  default: "gpt-4o-mini-transcribe",
  description: "Model that transcribes the user's speech; empty turns transcription off.",
});

export const ALLOWED_NOISE_REDUCTIONS = defineString("ALLOWED_NOISE_REDUCTIONS", {
  default: "near_field,far_field,off",
  description:
    "Input noise reduction a client may pick, comma-separated: near_field (headset, close " +
    "microphone), far_field (laptop or room microphone), off.",
});

export const DEFAULT_NOISE_REDUCTION = defineString("DEFAULT_NOISE_REDUCTION", {
  default: "near_field",
  description: "Noise reduction when the client picks none; must be in ALLOWED_NOISE_REDUCTIONS.",
});

export const ALLOWED_TURN_DETECTIONS = defineString("ALLOWED_TURN_DETECTIONS", {
  default: "server_vad,semantic_vad,push_to_talk",
  description:
    "Turn detection a client may pick, comma-separated: server_vad (ends a turn on silence), " +
    "semantic_vad (on what was said), push_to_talk (none: the client commits each turn).",
});

export const DEFAULT_TURN_DETECTION = defineString("DEFAULT_TURN_DETECTION", {
  default: "semantic_vad",
  description: "Turn detection when the client picks none; must be in ALLOWED_TURN_DETECTIONS.",
});

export const ALLOWED_VAD_EAGERNESS = defineString("ALLOWED_VAD_EAGERNESS", {
  default: "low,medium,high,auto",
  description: "Eagerness values of semantic_vad a client may pick, comma-separated.",
});

export const DEFAULT_VAD_EAGERNESS = defineString("DEFAULT_VAD_EAGERNESS", {
  default: "auto",
  description:
    "semantic_vad eagerness when the client picks none; must be in ALLOWED_VAD_EAGERNESS.",
});

export const CLIENT_SECRET_TTL_SECONDS = defineInt("CLIENT_SECRET_TTL_SECONDS", {
  default: 120,
  description:
    "Lifetime of a minted client secret (10–7200). It only has to outlive the SDP exchange; " +
    "a secret opens any number of calls until it expires, so keep it short.",
});

export const USER_MIN_INTERVAL_SECONDS = defineInt("USER_MIN_INTERVAL_SECONDS", {
  default: DEFAULT_USER_MIN_INTERVAL_SECONDS,
  description: "Minimum seconds between two mints by the same user.",
});

export const USER_DAILY_QUOTA = defineInt("USER_DAILY_QUOTA", {
  default: 100,
  description: "Mints per user per UTC day.",
});

export const IP_MINTS_PER_MINUTE = defineInt("IP_MINTS_PER_MINUTE", {
  default: 30,
  description:
    "Mints per client network (an IPv4 address or an IPv6 /64) per minute, across all users.",
});

export const OPENAI_TIMEOUT_MS = defineInt("OPENAI_TIMEOUT_MS", {
  default: 10_000,
  description: "Timeout of the mint request to OpenAI, in milliseconds.",
});

export const FIRESTORE_TIMEOUT_MS = defineInt("FIRESTORE_TIMEOUT_MS", {
  default: 5_000,
  description:
    "Deadline of each Firestore step of a call (reserve, settle, refund), in milliseconds. " +
    "Past it the caller gets `unavailable`.",
});

export const AUDIT_RETENTION_DAYS = defineInt("AUDIT_RETENTION_DAYS", {
  default: 30,
  description: "Days before Firestore's TTL policy deletes a mint's audit record.",
});

export const VOICE_PLANS = defineString("VOICE_PLANS", {
  default: "{}",
  description:
    "Plans as JSON: plan name -> the limits it overrides, e.g. " +
    '{"default":{"dailyMinutes":5},"pro":{"dailyMinutes":120,"modes":["brokered"]}}. ' +
    "A user's plan is their voicePlan custom claim (npm run plan); {}: every user on the params.",
});

/** Reads every handler setting. Call time only. */
export function readRawSettings(): RawSettings {
  return {
    USER_MIN_INTERVAL_SECONDS: USER_MIN_INTERVAL_SECONDS.value(),
    USER_DAILY_QUOTA: USER_DAILY_QUOTA.value(),
    IP_MINTS_PER_MINUTE: IP_MINTS_PER_MINUTE.value(),
    CLIENT_SECRET_TTL_SECONDS: CLIENT_SECRET_TTL_SECONDS.value(),
    OPENAI_TIMEOUT_MS: OPENAI_TIMEOUT_MS.value(),
    FIRESTORE_TIMEOUT_MS: FIRESTORE_TIMEOUT_MS.value(),
    AUDIT_RETENTION_DAYS: AUDIT_RETENTION_DAYS.value(),
    APP_CHECK_REPLAY_PROTECTION: APP_CHECK_REPLAY_PROTECTION.value(),
    ALLOWED_VOICES: ALLOWED_VOICES.value(),
    DEFAULT_VOICE: DEFAULT_VOICE.value(),
    ALLOWED_LANGUAGES: ALLOWED_LANGUAGES.value(),
    REALTIME_MODEL: REALTIME_MODEL.value(),
    REALTIME_INSTRUCTIONS: REALTIME_INSTRUCTIONS.value(),
    TRANSCRIPTION_MODEL: TRANSCRIPTION_MODEL.value(),
    ALLOWED_NOISE_REDUCTIONS: ALLOWED_NOISE_REDUCTIONS.value(),
    DEFAULT_NOISE_REDUCTION: DEFAULT_NOISE_REDUCTION.value(),
    ALLOWED_TURN_DETECTIONS: ALLOWED_TURN_DETECTIONS.value(),
    DEFAULT_TURN_DETECTION: DEFAULT_TURN_DETECTION.value(),
    ALLOWED_VAD_EAGERNESS: ALLOWED_VAD_EAGERNESS.value(),
    DEFAULT_VAD_EAGERNESS: DEFAULT_VAD_EAGERNESS.value(),
    VOICE_PLANS: VOICE_PLANS.value(),
  };
}

export const REALTIME_MODES = defineString("REALTIME_MODES", {
  default: "secret",
  description:
    "What the backend serves: secret (realtimeToken mints ek_ client secrets), brokered (the " +
    "server posts the browser's offer itself and enforces the voice-minute budget) or both. " +
    "With brokered alone realtimeToken refuses, so nobody can bypass the budget with a secret.",
});

export const DAILY_VOICE_MINUTES = defineInt("DAILY_VOICE_MINUTES", {
  default: 30,
  description: "Brokered calls: voice minutes per user per UTC day (at least 1).",
});

export const MONTHLY_VOICE_MINUTES = defineInt("MONTHLY_VOICE_MINUTES", {
  default: 0,
  description: "Brokered calls: voice minutes per user per UTC calendar month; 0 means no cap.",
});

export const MAX_CALL_SECONDS = defineInt("MAX_CALL_SECONDS", {
  default: 600,
  description:
    "Brokered calls: the longest single call in seconds (1–3600; OpenAI ends sessions at 60 " +
    "minutes). The server hangs up when a call's slice runs out.",
});

/** Reads the brokered-call settings. Call time only. */
export const IP_CALLS_PER_MINUTE = defineInt("IP_CALLS_PER_MINUTE", {
  default: 30,
  description:
    "Brokered calls per client network (an IPv4 address or an IPv6 /64) per minute, across all " +
    "users. Its own allowance, apart from IP_MINTS_PER_MINUTE.",
});

export const BROKERED_APIS = defineString("BROKERED_APIS", {
  default: "realtime",
  description:
    "Brokered calls: the upstreams a call may open on, comma-separated, the default first: " +
    "realtime (POST /v1/realtime/calls) and live (GPT-Live, POST /v1/live/sessions). A page " +
    "asks for one with the request's api.",
});

export const LIVE_MODEL = defineString("LIVE_MODEL", {
  default: "gpt-live-1",
  description:
    "Brokered GPT-Live calls: the model every Live session runs (gpt-live-1, gpt-live-1.1).",
});

export function readRawVoiceSettings(): RawVoiceSettings {
  return {
    REALTIME_MODES: REALTIME_MODES.value(),
    DAILY_VOICE_MINUTES: DAILY_VOICE_MINUTES.value(),
    MONTHLY_VOICE_MINUTES: MONTHLY_VOICE_MINUTES.value(),
    MAX_CALL_SECONDS: MAX_CALL_SECONDS.value(),
    IP_CALLS_PER_MINUTE: IP_CALLS_PER_MINUTE.value(),
    BROKERED_APIS: BROKERED_APIS.value(),
    LIVE_MODEL: LIVE_MODEL.value(),
  };
}

/**
 * The options of every callable a page calls (`realtimeToken`, `realtimeCall`,
 * `endRealtimeCall`): one region, CORS list, instance cap, App Check with replay protection
 * and the key, so that no callable is guarded less than the others.
 */
export const CALLABLE_OPTIONS = {
  region: REGION,
  cors: ALLOWED_ORIGINS,
  maxInstances: MAX_INSTANCES,
  enforceAppCheck: true,
  consumeAppCheckToken: APP_CHECK_REPLAY_PROTECTION,
  secrets: [OPENAI_API_KEY],
  memory: "256MiB" as const,
  timeoutSeconds: 30,
};
