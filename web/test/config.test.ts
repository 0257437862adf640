import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_OPENAI_CALLS_URL, parseConfig } from "../src/config";

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

describe("parseConfig", () => {
  it("fills production defaults", () => {
    expect(parseConfig(production)).toEqual({
      firebase: {
        apiKey: "AIza-key",
        authDomain: "my-project.firebaseapp.com",
        projectId: "my-project",
        appId: "1:2:web:3",
      },
      functionsRegion: "us-central1",
      emulators: null,
      recaptchaEnterpriseSiteKey: "site-key",
      openaiCallsUrl: DEFAULT_OPENAI_CALLS_URL,
      tokenPrefetch: "load",
      mode: "secret",
      api: "realtime",
    });
  });

  it("reads the voice API, which GPT-Live allows only brokered", () => {
    const brokered = { ...production, VITE_REALTIME_MODE: "brokered" };
    expect(parseConfig({ ...brokered, VITE_VOICE_API: "live" }).api).toBe("live");
    expect(parseConfig(brokered).api).toBe("realtime");
    expect(() => parseConfig({ ...brokered, VITE_VOICE_API: "both" })).toThrow(
      /VITE_VOICE_API must be "realtime" or "live".*not "both"/,
    );
    expect(() => parseConfig({ ...production, VITE_VOICE_API: "live" })).toThrow(
      /VITE_VOICE_API "live" needs VITE_REALTIME_MODE "brokered"/,
    );
  });

  it("reads the mode, naming the variable when it is wrong", () => {
    expect(parseConfig({ ...production, VITE_REALTIME_MODE: "brokered" }).mode).toBe("brokered");
    expect(parseConfig({ ...production, VITE_REALTIME_MODE: " secret " }).mode).toBe("secret");
    expect(() => parseConfig({ ...production, VITE_REALTIME_MODE: "both" })).toThrow(
      /VITE_REALTIME_MODE must be "secret" or "brokered".*not "both"/,
    );
  });

  it("names every missing variable", () => {
    const error = (() => {
      try {
        parseConfig({ VITE_FIREBASE_PROJECT_ID: "p", VITE_FIREBASE_API_KEY: "  " });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain("VITE_FIREBASE_API_KEY is missing");
    expect(message).toContain("VITE_FIREBASE_APP_ID is missing");
    expect(message).toContain("VITE_RECAPTCHA_ENTERPRISE_SITE_KEY is missing");
    expect(message).not.toContain("VITE_FIREBASE_PROJECT_ID");
  });

  it("needs no site key under the emulators and wires their ports", () => {
    const config = parseConfig({ ...emulator, VITE_FUNCTIONS_EMULATOR_PORT: "5009" });
    expect(config.recaptchaEnterpriseSiteKey).toBeNull();
    expect(config.emulators).toEqual({ host: "127.0.0.1", authPort: 9099, functionsPort: 5009 });
    expect(config.openaiCallsUrl).toBe("http://127.0.0.1:8790/v1/realtime/calls");
  });

  it("rejects malformed values", () => {
    expect(() => parseConfig({ ...emulator, VITE_USE_EMULATORS: "yes" })).toThrow(
      /VITE_USE_EMULATORS must be "true" or "false"/,
    );
    expect(() => parseConfig({ ...emulator, VITE_AUTH_EMULATOR_PORT: "99999" })).toThrow(
      /VITE_AUTH_EMULATOR_PORT must be a port/,
    );
    expect(() => parseConfig({ ...production, VITE_TOKEN_PREFETCH: "always" })).toThrow(
      /VITE_TOKEN_PREFETCH/,
    );
    expect(() => parseConfig({ ...production, VITE_OPENAI_CALLS_URL: "ftp://x" })).toThrow(
      /must be an http\(s\) URL/,
    );
  });

  it("refuses plain http for OpenAI outside the emulators", () => {
    expect(() =>
      parseConfig({ ...production, VITE_OPENAI_CALLS_URL: "http://api.example.com/calls" }),
    ).toThrow(/https/);
  });

  it("accepts the committed .env.emulator", async () => {
    const { readFileSync } = await import("node:fs");
    const text = readFileSync(new URL("../.env.emulator", import.meta.url), "utf8");
    const env = Object.fromEntries(
      text
        .split("\n")
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    const config = parseConfig(env);
    expect(config.firebase.projectId).toBe("demo-realtime");
    expect(config.emulators).not.toBeNull();
  });
});
