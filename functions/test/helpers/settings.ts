/** Settings of the handlers' unit tests: two voices, two languages, every session choice. */
import { type RawSettings, resolveSettings, type Settings } from "../../src/settings";

export const unitRawSettings: RawSettings = {
  USER_MIN_INTERVAL_SECONDS: 5,
  USER_DAILY_QUOTA: 10,
  IP_MINTS_PER_MINUTE: 30,
  CLIENT_SECRET_TTL_SECONDS: 120,
  OPENAI_TIMEOUT_MS: 10_000,
  FIRESTORE_TIMEOUT_MS: 5_000,
  AUDIT_RETENTION_DAYS: 30,
  APP_CHECK_REPLAY_PROTECTION: true,
  ALLOWED_VOICES: "marin,cedar",
  DEFAULT_VOICE: "marin",
  ALLOWED_LANGUAGES: "en,de",
  REALTIME_MODEL: "gpt-realtime-2",
  REALTIME_INSTRUCTIONS: "Be brief.",
  TRANSCRIPTION_MODEL: "gpt-4o-mini-transcribe",
  ALLOWED_NOISE_REDUCTIONS: "near_field,far_field,off",
  DEFAULT_NOISE_REDUCTION: "near_field",
  ALLOWED_TURN_DETECTIONS: "server_vad,semantic_vad,push_to_talk",
  DEFAULT_TURN_DETECTION: "semantic_vad",
  ALLOWED_VAD_EAGERNESS: "low,medium,high,auto",
  DEFAULT_VAD_EAGERNESS: "auto",
  VOICE_PLANS: "{}",
};

export const unitSettings: Settings = resolveSettings(unitRawSettings);
