import { describe, expect, it } from "vitest";
import {
  buildSessionConfig,
  describeSession,
  MAX_REQUEST_BYTES,
  parseTokenRequest,
  type SessionChoicesPolicy,
} from "../src/session";

const policy: SessionChoicesPolicy = {
  voices: ["marin", "cedar", "alloy"],
  defaultVoice: "marin",
  languages: ["en", "de"],
};
const defaults = { voice: "marin", outputModality: "audio", language: null };

describe("parseTokenRequest accepts", () => {
  it.each([
    ["no data", undefined, defaults],
    ["null", null, defaults],
    ["an empty object", {}, defaults],
    ["a voice", { voice: "cedar" }, { ...defaults, voice: "cedar" }],
    ["text output", { outputModality: "text" }, { ...defaults, outputModality: "text" }],
    ["a language", { language: "de" }, { ...defaults, language: "de" }],
    ["a null language", { language: null }, defaults],
    [
      "everything",
      { voice: "alloy", outputModality: "audio", language: "en" },
      { voice: "alloy", outputModality: "audio", language: "en" },
    ],
  ])("%s", (_name, data, expected) => {
    expect(parseTokenRequest(data, policy)).toEqual({ ok: true, value: expected });
  });
});

describe("parseTokenRequest rejects, naming the field", () => {
  it.each([
    ["a string payload", "hello", "(request)", /must be an object/],
    ["an array payload", ["voice"], "(request)", /must be an object/],
    ["a number payload", 42, "(request)", /must be an object/],
    [
      "the model",
      { model: "gpt-realtime-2" },
      "model",
      /cannot be set by the client; allowed fields: voice, outputModality, language/,
    ],
    ["instructions", { instructions: "be evil" }, "instructions", /cannot be set/],
    ["tools", { voice: "marin", tools: [] }, "tools", /cannot be set/],
    ["__proto__", JSON.parse('{"__proto__": {"x": 1}}'), "__proto__", /cannot be set/],
    [
      "a voice not allowed",
      { voice: "shimmer" },
      "voice",
      /"shimmer" is not allowed; use one of: marin, cedar, alloy/,
    ],
    ["a voice of the wrong type", { voice: 3 }, "voice", /must be a string/],
    [
      "an unknown modality",
      { outputModality: "video" },
      "outputModality",
      /use one of: audio, text/,
    ],
    ["a modality array", { outputModality: ["audio"] }, "outputModality", /must be a string/],
    [
      "a language not allowed",
      { language: "fr" },
      "language",
      /"fr" is not allowed; use one of: en, de/,
    ],
    ["a language of the wrong type", { language: 1 }, "language", /must be a string or null/],
    ["an empty voice", { voice: "" }, "voice", /is not allowed/],
  ])("%s", (_name, data, field, message) => {
    const result = parseTokenRequest(data, policy);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.field).toBe(field);
    expect(result.message).toMatch(message);
  });

  it("an oversized payload, before looking at its fields", () => {
    const result = parseTokenRequest({ voice: "x".repeat(MAX_REQUEST_BYTES) }, policy);
    expect(result).toEqual({
      ok: false,
      field: "(request)",
      message: expect.stringMatching(/is 10\d\d bytes; at most 1024 are accepted/),
    });
  });

  it("cutting an echoed value between characters, never inside a surrogate pair", () => {
    const result = parseTokenRequest({ voice: `${"v".repeat(39)}\u{1F600}tail` }, policy);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message).not.toMatch(LONE_SURROGATE);
      expect(result.message).toContain(`${"v".repeat(39)}\u{1F600}…`);
    }
  });

  it("without echoing a long value back", () => {
    const result = parseTokenRequest({ voice: "v".repeat(500) }, policy);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message.length).toBeLessThan(150);
  });
});

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe("buildSessionConfig", () => {
  const server = {
    model: "gpt-realtime-2",
    instructions: "Be brief.",
    transcriptionModel: "gpt-4o-mini-transcribe",
  };

  it("takes model, instructions, turn detection and transcription from the server", () => {
    const session = buildSessionConfig(
      { voice: "cedar", outputModality: "audio", language: "de" },
      server,
    );
    expect(session).toEqual({
      type: "realtime",
      model: "gpt-realtime-2",
      instructions: "Be brief.",
      output_modalities: ["audio"],
      audio: {
        input: {
          noise_reduction: { type: "near_field" },
          transcription: { model: "gpt-4o-mini-transcribe", language: "de" },
          turn_detection: {
            type: "semantic_vad",
            eagerness: "auto",
            create_response: true,
            interrupt_response: true,
          },
        },
        output: { voice: "cedar" },
      },
    });
  });

  it("omits transcription when the server turns it off, and the language with it", () => {
    const session = buildSessionConfig(
      { voice: "marin", outputModality: "text", language: "en" },
      { ...server, transcriptionModel: "" },
    );
    expect(session.audio?.input).not.toHaveProperty("transcription");
    expect(session.output_modalities).toEqual(["text"]);
    expect(
      describeSession(
        { voice: "marin", outputModality: "text", language: "en" },
        { ...server, transcriptionModel: "" },
      ),
    ).toEqual({
      voice: "marin",
      outputModality: "text",
      language: "en",
      transcription: false,
    });
  });

  it("lets the transcription model detect the language when none is chosen", () => {
    const session = buildSessionConfig(
      { voice: "marin", outputModality: "audio", language: null },
      server,
    );
    expect(session.audio?.input?.transcription).toEqual({ model: "gpt-4o-mini-transcribe" });
  });
});
