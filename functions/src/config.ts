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

export const CLIENT_SECRET_TTL_SECONDS = defineInt("CLIENT_SECRET_TTL_SECONDS", {
  default: 120,
  description:
    "Lifetime of a minted client secret (10–7200). It only has to outlive the SDP exchange; " +
    "a secret opens any number of calls until it expires, so keep it short.",
});

export const USER_MIN_INTERVAL_SECONDS = defineInt("USER_MIN_INTERVAL_SECONDS", {
  default: 5,
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
  };
}
