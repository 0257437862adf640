import { describe, expect, it } from "vitest";
import {
  type RawVoiceSettings,
  resolveVoiceSettings,
  VoiceConfigError,
} from "../src/voiceSettings";

const raw: RawVoiceSettings = {
  REALTIME_MODES: "secret",
  DAILY_VOICE_MINUTES: 30,
  MONTHLY_VOICE_MINUTES: 0,
  MAX_CALL_SECONDS: 600,
  IP_CALLS_PER_MINUTE: 30,
  BROKERED_APIS: "realtime",
  LIVE_MODEL: "gpt-live-1",
};

function configError(input: RawVoiceSettings): VoiceConfigError {
  try {
    resolveVoiceSettings(input);
  } catch (error) {
    if (error instanceof VoiceConfigError) return error;
    throw error;
  }
  throw new Error("expected a VoiceConfigError");
}

describe("resolveVoiceSettings", () => {
  it("serves secrets only by default, with the budget in seconds", () => {
    expect(resolveVoiceSettings(raw)).toEqual({
      serveSecret: true,
      serveBrokered: false,
      limits: { dailySeconds: 1800, monthlySeconds: 0, maxCallSeconds: 600 },
      callsPerNetworkPerMinute: 30,
      apis: ["realtime"],
      liveModel: "gpt-live-1",
    });
  });

  it.each([
    ["realtime", ["realtime"]],
    ["live", ["live"]],
    [" Live , realtime,live", ["live", "realtime"]],
  ])("BROKERED_APIS=%j opens %j, the first the default", (apis, expected) => {
    expect(resolveVoiceSettings({ ...raw, BROKERED_APIS: apis }).apis).toEqual(expected);
  });

  it.each([
    ["secret", true, false],
    ["brokered", false, true],
    ["both", true, true],
    [" Brokered ", false, true],
  ])("REALTIME_MODES=%j serves secret %s, brokered %s", (modes, secret, brokered) => {
    expect(resolveVoiceSettings({ ...raw, REALTIME_MODES: modes })).toMatchObject({
      serveSecret: secret,
      serveBrokered: brokered,
    });
  });

  it("takes a monthly cap in minutes and short calls for test projects", () => {
    expect(
      resolveVoiceSettings({
        ...raw,
        DAILY_VOICE_MINUTES: 1,
        MONTHLY_VOICE_MINUTES: 300,
        MAX_CALL_SECONDS: 3,
      }).limits,
    ).toEqual({ dailySeconds: 60, monthlySeconds: 18_000, maxCallSeconds: 3 });
  });

  it.each<[Partial<RawVoiceSettings>, keyof RawVoiceSettings, RegExp]>([
    [{ REALTIME_MODES: "all" }, "REALTIME_MODES", /one of secret, brokered, both/],
    [{ BROKERED_APIS: "" }, "BROKERED_APIS", /one or more of realtime, live/],
    [{ BROKERED_APIS: "realtime,sip" }, "BROKERED_APIS", /got "realtime,sip"/],
    [{ LIVE_MODEL: " " }, "LIVE_MODEL", /GPT-Live model name/],
    [{ REALTIME_MODES: "" }, "REALTIME_MODES", /got ""/],
    [{ DAILY_VOICE_MINUTES: 0 }, "DAILY_VOICE_MINUTES", />= 1/],
    [{ DAILY_VOICE_MINUTES: 1.5 }, "DAILY_VOICE_MINUTES", /integer/],
    [{ MONTHLY_VOICE_MINUTES: -1 }, "MONTHLY_VOICE_MINUTES", />= 0/],
    [{ MAX_CALL_SECONDS: 0 }, "MAX_CALL_SECONDS", /from 1 to 3600/],
    [{ MAX_CALL_SECONDS: 3601 }, "MAX_CALL_SECONDS", /from 1 to 3600/],
    [{ IP_CALLS_PER_MINUTE: 0 }, "IP_CALLS_PER_MINUTE", />= 1/],
  ])("refuses %j, naming %s", (override, param, message) => {
    const error = configError({ ...raw, ...override });
    expect(error.param).toBe(param);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`${param}: `)).toBe(true);
  });
});
