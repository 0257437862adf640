import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config";
import { queryOverrides } from "../src/queryOverrides";

const production = {
  VITE_FIREBASE_API_KEY: "AIza-key",
  VITE_FIREBASE_PROJECT_ID: "my-project",
  VITE_FIREBASE_APP_ID: "1:2:web:3",
  VITE_RECAPTCHA_ENTERPRISE_SITE_KEY: "site-key",
};

const emulator = {
  VITE_FIREBASE_API_KEY: "demo-api-key",
  VITE_FIREBASE_PROJECT_ID: "demo-realtime",
  VITE_FIREBASE_APP_ID: "1:0:web:0",
  VITE_USE_EMULATORS: "true",
  VITE_OPENAI_CALLS_URL: "http://127.0.0.1:8790/v1/realtime/calls",
};

describe("queryOverrides", () => {
  it("lets an emulator build turn App Check off and pick the prefetch mode", () => {
    const config = parseConfig(emulator);
    expect(queryOverrides(config, "")).toEqual({
      appCheck: true,
      tokenPrefetch: "load",
      connectOnLoad: false,
      mode: "secret",
      api: "realtime",
    });
    expect(queryOverrides(config, "?appCheck=off")).toEqual({
      appCheck: false,
      tokenPrefetch: "load",
      connectOnLoad: false,
      mode: "secret",
      api: "realtime",
    });
    expect(queryOverrides(config, "?connect=load").connectOnLoad).toBe(true);
    for (const mode of ["off", "load", "intent"] as const) {
      expect(queryOverrides(config, `?prefetch=${mode}`).tokenPrefetch).toBe(mode);
    }
    expect(
      queryOverrides(parseConfig({ ...emulator, VITE_TOKEN_PREFETCH: "off" }), "?prefetch=load"),
    ).toEqual({
      appCheck: true,
      tokenPrefetch: "load",
      connectOnLoad: false,
      mode: "secret",
      api: "realtime",
    });
    expect(queryOverrides(config, "?mode=brokered").mode).toBe("brokered");
    const brokered = parseConfig({ ...emulator, VITE_REALTIME_MODE: "brokered" });
    expect(queryOverrides(brokered, "?mode=secret").mode).toBe("secret");
  });

  it("makes ?mode=live a brokered page on GPT-Live, and the other modes Realtime ones", () => {
    const config = parseConfig(emulator);
    expect(queryOverrides(config, "?mode=live")).toMatchObject({ mode: "brokered", api: "live" });
    const live = parseConfig({
      ...emulator,
      VITE_REALTIME_MODE: "brokered",
      VITE_VOICE_API: "live",
    });
    expect(queryOverrides(live, "")).toMatchObject({ mode: "brokered", api: "live" });
    expect(queryOverrides(live, "?mode=brokered")).toMatchObject({
      mode: "brokered",
      api: "realtime",
    });
    expect(queryOverrides(live, "?mode=secret")).toMatchObject({ mode: "secret", api: "realtime" });
    expect(queryOverrides(parseConfig(production), "?mode=live")).toMatchObject({
      mode: "secret",
      api: "realtime",
    });
  });

  it("preselects the turn-taking and noise pickers, ignoring values the contract does not know", () => {
    const config = parseConfig(emulator);
    expect(
      queryOverrides(config, "?turnDetection=semantic_vad&eagerness=high&noiseReduction=off").talk,
    ).toEqual({ turnDetection: "semantic_vad", eagerness: "high", noiseReduction: "off" });
    expect(queryOverrides(config, "?turnDetection=push_to_talk&eagerness=fast").talk).toEqual({
      turnDetection: "push_to_talk",
    });
    expect(queryOverrides(config, "?turnDetection=vad")).not.toHaveProperty("talk");
    const production_ = parseConfig(production);
    expect(queryOverrides(production_, "?turnDetection=push_to_talk")).not.toHaveProperty("talk");
  });

  it("ignores unknown values", () => {
    const config = parseConfig(emulator);
    expect(queryOverrides(config, "?prefetch=always&appCheck=no&connect=now&mode=both")).toEqual({
      appCheck: true,
      tokenPrefetch: "load",
      connectOnLoad: false,
      mode: "secret",
      api: "realtime",
    });
  });

  it("is never active in a production build", () => {
    const config = parseConfig({ ...production, VITE_TOKEN_PREFETCH: "intent" });
    expect(queryOverrides(config, "?appCheck=off&prefetch=off&connect=load&mode=brokered")).toEqual(
      {
        appCheck: true,
        tokenPrefetch: "intent",
        connectOnLoad: false,
        mode: "secret",
        api: "realtime",
      },
    );
  });
});
