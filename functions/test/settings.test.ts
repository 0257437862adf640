import { describe, expect, it } from "vitest";
import { ConfigError, type RawSettings, resolveSettings } from "../src/settings";

const raw: RawSettings = {
  USER_MIN_INTERVAL_SECONDS: 5,
  USER_DAILY_QUOTA: 100,
  IP_MINTS_PER_MINUTE: 30,
  CLIENT_SECRET_TTL_SECONDS: 120,
  OPENAI_TIMEOUT_MS: 10_000,
  FIRESTORE_TIMEOUT_MS: 5_000,
  AUDIT_RETENTION_DAYS: 30,
  APP_CHECK_REPLAY_PROTECTION: true,
  ALLOWED_VOICES: " marin, cedar ,,marin",
  DEFAULT_VOICE: "marin",
  ALLOWED_LANGUAGES: "en,de",
  REALTIME_MODEL: "gpt-realtime-2",
  REALTIME_INSTRUCTIONS: "Be brief.",
  TRANSCRIPTION_MODEL: " ",
  ALLOWED_NOISE_REDUCTIONS: "near_field, off",
  DEFAULT_NOISE_REDUCTION: "off",
  ALLOWED_TURN_DETECTIONS: "server_vad,push_to_talk",
  DEFAULT_TURN_DETECTION: " push_to_talk ",
  ALLOWED_VAD_EAGERNESS: "auto",
  DEFAULT_VAD_EAGERNESS: "auto",
  VOICE_PLANS: "{}",
};

describe("resolveSettings", () => {
  it("derives limits in milliseconds and cleans the comma lists", () => {
    const settings = resolveSettings(raw);
    expect(settings.limits).toEqual({
      userMinIntervalMs: 5_000,
      userDailyQuota: 100,
      networkPerWindow: 30,
    });
    expect(settings.choices).toEqual({
      voices: ["marin", "cedar"],
      defaultVoice: "marin",
      languages: ["en", "de"],
      noiseReductions: ["near_field", "off"],
      defaultNoiseReduction: "off",
      turnDetections: ["server_vad", "push_to_talk"],
      defaultTurnDetection: "push_to_talk",
      eagerness: ["auto"],
      defaultEagerness: "auto",
    });
    expect(settings.server.transcriptionModel).toBe("");
    expect(settings.ttlSeconds).toBe(120);
  });

  it("clamps the secret lifetime to what OpenAI accepts", () => {
    expect(resolveSettings({ ...raw, CLIENT_SECRET_TTL_SECONDS: 3 }).ttlSeconds).toBe(10);
    expect(resolveSettings({ ...raw, CLIENT_SECRET_TTL_SECONDS: 86_400 }).ttlSeconds).toBe(7200);
  });

  it.each<[Partial<RawSettings>, keyof RawSettings]>([
    [{ DEFAULT_VOICE: "shimmer" }, "DEFAULT_VOICE"],
    [{ ALLOWED_VOICES: " , " }, "ALLOWED_VOICES"],
    [{ REALTIME_MODEL: "  " }, "REALTIME_MODEL"],
    [{ USER_DAILY_QUOTA: -1 }, "USER_DAILY_QUOTA"],
    [{ USER_MIN_INTERVAL_SECONDS: 1.5 }, "USER_MIN_INTERVAL_SECONDS"],
    [{ OPENAI_TIMEOUT_MS: 5 }, "OPENAI_TIMEOUT_MS"],
    [{ AUDIT_RETENTION_DAYS: 0 }, "AUDIT_RETENTION_DAYS"],
    [{ ALLOWED_NOISE_REDUCTIONS: "near_field,studio" }, "ALLOWED_NOISE_REDUCTIONS"],
    [{ ALLOWED_NOISE_REDUCTIONS: "" }, "ALLOWED_NOISE_REDUCTIONS"],
    [{ DEFAULT_NOISE_REDUCTION: "far_field" }, "DEFAULT_NOISE_REDUCTION"],
    [{ ALLOWED_TURN_DETECTIONS: "server_vad,none" }, "ALLOWED_TURN_DETECTIONS"],
    [{ DEFAULT_TURN_DETECTION: "semantic_vad" }, "DEFAULT_TURN_DETECTION"],
    [{ ALLOWED_VAD_EAGERNESS: "auto,eager" }, "ALLOWED_VAD_EAGERNESS"],
    [{ DEFAULT_VAD_EAGERNESS: "high" }, "DEFAULT_VAD_EAGERNESS"],
  ])("names the param of a bad value: %o", (override, param) => {
    let thrown: unknown;
    try {
      resolveSettings({ ...raw, ...override });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).param).toBe(param);
    expect((thrown as ConfigError).message).toMatch(new RegExp(`^${param}: `));
  });
});
