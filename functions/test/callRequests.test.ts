import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  parseCallRequest,
  parseEndRequest,
  safetyIdentifier,
  toVoiceMinutes,
} from "../src/callRequests";
import { resolveSettings, type Settings } from "../src/settings";

const settings: Settings = resolveSettings({
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
});
const offer = readFileSync(join(__dirname, "fixtures", "chromium-offer.sdp"), "utf8");

describe("parseCallRequest", () => {
  it("splits the offer from the allowlisted choices", () => {
    const parsed = parseCallRequest({ offer, voice: "cedar" }, settings);
    expect(parsed).toMatchObject({ ok: true, value: { offer, choices: { voice: "cedar" } } });
  });

  it("names the offer when it is missing or wrong, and other fields as the allowlist does", () => {
    expect(parseCallRequest({ voice: "cedar" }, settings)).toMatchObject({
      ok: false,
      field: "offer",
    });
    expect(
      parseCallRequest({ offer: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n" }, settings),
    ).toMatchObject({
      ok: false,
      field: "offer",
      message: expect.stringContaining("no audio section"),
    });
    expect(parseCallRequest({ offer, voice: "nope" }, settings)).toMatchObject({
      ok: false,
      field: "voice",
    });
    expect(parseCallRequest([offer], settings)).toMatchObject({ ok: false, field: "(request)" });
  });

  it("takes { prepare: true } alone as a prepare request, and names what else is wrong", () => {
    expect(parseCallRequest({ prepare: true }, settings)).toEqual({
      ok: true,
      value: { kind: "prepare" },
    });
    expect(parseCallRequest({ prepare: "yes" }, settings)).toMatchObject({
      ok: false,
      field: "prepare",
      message: expect.stringContaining("prepare must be true"),
    });
    // An offer beside prepare would be a call the page thinks it did not open.
    expect(parseCallRequest({ prepare: true, offer }, settings)).toMatchObject({
      ok: false,
      field: "offer",
      message: expect.stringContaining("carries nothing else"),
    });
  });
});

describe("brokered helpers", () => {
  it("derives a stable safety identifier that is neither the uid nor computable without the key", () => {
    const id = safetyIdentifier("uid-1", "sk-a");
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(safetyIdentifier("uid-1", "sk-a")).toBe(id);
    expect(safetyIdentifier("uid-1", "sk-b")).not.toBe(id);
    expect(safetyIdentifier("uid-2", "sk-a")).not.toBe(id);
  });

  it("puts remaining seconds on the wire in unix seconds", () => {
    expect(
      toVoiceMinutes({
        daySeconds: 10,
        dayResetsAtMs: 86_400_000,
        monthSeconds: null,
        monthResetsAtMs: null,
      }),
    ).toEqual({ daySeconds: 10, dayResetsAt: 86_400, monthSeconds: null, monthResetsAt: null });
  });
});

describe("parseEndRequest", () => {
  it("takes a call id of upstream's alphabet and names callId otherwise", () => {
    expect(parseEndRequest({ callId: "rtc_ab-1" })).toEqual({
      ok: true,
      value: { callId: "rtc_ab-1" },
    });
    for (const data of [
      null,
      {},
      { callId: 7 },
      { callId: "" },
      { callId: "a/b" },
      { callId: "x".repeat(129) },
    ])
      expect(parseEndRequest(data)).toMatchObject({
        ok: false,
        field: "callId",
        message: expect.stringContaining("endRealtimeCall"),
      });
  });
});
