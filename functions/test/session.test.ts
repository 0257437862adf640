import { describe, expect, it } from "vitest";
import {
  buildSessionConfig,
  describeSession,
  MAX_REQUEST_BYTES,
  describeChoices,
  parseTokenRequest,
  type SessionChoices,
  type SessionChoicesPolicy,
} from "../src/session";

const policy: SessionChoicesPolicy = {
  voices: ["marin", "cedar", "alloy"],
  defaultVoice: "marin",
  languages: ["en", "de"],
  noiseReductions: ["near_field", "far_field", "off"],
  defaultNoiseReduction: "near_field",
  turnDetections: ["server_vad", "semantic_vad", "push_to_talk"],
  defaultTurnDetection: "semantic_vad",
  eagerness: ["low", "medium", "high", "auto"],
  defaultEagerness: "auto",
};
const defaults: SessionChoices = {
  voice: "marin",
  outputModality: "audio",
  language: null,
  noiseReduction: "near_field",
  turnDetection: "semantic_vad",
  eagerness: "auto",
};

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
      "far-field noise reduction",
      { noiseReduction: "far_field" },
      { ...defaults, noiseReduction: "far_field" },
    ],
    ["no noise reduction", { noiseReduction: "off" }, { ...defaults, noiseReduction: "off" }],
    [
      "server VAD, which has no eagerness",
      { turnDetection: "server_vad" },
      { ...defaults, turnDetection: "server_vad", eagerness: null },
    ],
    [
      "push-to-talk",
      { turnDetection: "push_to_talk" },
      { ...defaults, turnDetection: "push_to_talk", eagerness: null },
    ],
    [
      "an eagerness for the default semantic VAD",
      { eagerness: "high" },
      { ...defaults, eagerness: "high" },
    ],
    [
      "semantic VAD with an eagerness",
      { turnDetection: "semantic_vad", eagerness: "low" },
      { ...defaults, eagerness: "low" },
    ],
    [
      "everything",
      {
        voice: "alloy",
        outputModality: "audio",
        language: "en",
        noiseReduction: "off",
        turnDetection: "semantic_vad",
        eagerness: "medium",
      },
      {
        voice: "alloy",
        outputModality: "audio",
        language: "en",
        noiseReduction: "off",
        turnDetection: "semantic_vad",
        eagerness: "medium",
      },
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
      /cannot be set by the client; allowed fields: voice, outputModality, language, noiseReduction, turnDetection, eagerness\./,
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
    ["the raw turn_detection object", { turn_detection: null }, "turn_detection", /cannot be set/],
    [
      "an unknown noise reduction",
      { noiseReduction: "studio" },
      "noiseReduction",
      /"studio" is not allowed; use one of: near_field, far_field, off/,
    ],
    ["a null noise reduction", { noiseReduction: null }, "noiseReduction", /must be a string/],
    [
      "an unknown turn detection",
      { turnDetection: "none" },
      "turnDetection",
      /"none" is not allowed; use one of: server_vad, semantic_vad, push_to_talk/,
    ],
    [
      "a turn detection object",
      { turnDetection: { type: "server_vad" } },
      "turnDetection",
      /must be a string/,
    ],
    [
      "an unknown eagerness",
      { eagerness: "eager" },
      "eagerness",
      /"eager" is not allowed; use one of: low, medium, high, auto/,
    ],
    [
      "an eagerness with server VAD",
      { turnDetection: "server_vad", eagerness: "high" },
      "eagerness",
      /only applies to turnDetection "semantic_vad"; this request has "server_vad"/,
    ],
    [
      "an eagerness with push-to-talk",
      { eagerness: "low", turnDetection: "push_to_talk" },
      "eagerness",
      /this request has "push_to_talk"/,
    ],
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

  it("a value the server's allowed set leaves out, and eagerness when the default has none", () => {
    const narrow: SessionChoicesPolicy = {
      ...policy,
      noiseReductions: ["near_field"],
      turnDetections: ["server_vad", "push_to_talk"],
      defaultTurnDetection: "server_vad",
      eagerness: ["auto"],
    };
    expect(parseTokenRequest({}, narrow)).toEqual({
      ok: true,
      value: { ...defaults, turnDetection: "server_vad", eagerness: null },
    });
    expect(parseTokenRequest({ noiseReduction: "off" }, narrow)).toMatchObject({
      field: "noiseReduction",
      message: expect.stringMatching(/use one of: near_field\.$/),
    });
    expect(parseTokenRequest({ turnDetection: "semantic_vad" }, narrow)).toMatchObject({
      field: "turnDetection",
    });
    expect(parseTokenRequest({ eagerness: "auto" }, narrow)).toMatchObject({
      field: "eagerness",
      message: expect.stringMatching(/this request has "server_vad"/),
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
    const session = buildSessionConfig({ ...defaults, voice: "cedar", language: "de" }, server);
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
      { ...defaults, outputModality: "text", language: "en" },
      { ...server, transcriptionModel: "" },
    );
    expect(session.audio?.input).not.toHaveProperty("transcription");
    expect(session.output_modalities).toEqual(["text"]);
    expect(
      describeSession(
        { ...defaults, outputModality: "text", language: "en" },
        { ...server, transcriptionModel: "" },
      ),
    ).toEqual({
      voice: "marin",
      outputModality: "text",
      language: "en",
      transcription: false,
      noiseReduction: "near_field",
      turnDetection: "semantic_vad",
      eagerness: "auto",
    });
  });

  it("lets the transcription model detect the language when none is chosen", () => {
    const session = buildSessionConfig(defaults, server);
    expect(session.audio?.input?.transcription).toEqual({ model: "gpt-4o-mini-transcribe" });
  });

  it.each<[string, Partial<SessionChoices>, unknown]>([
    [
      "server VAD",
      { turnDetection: "server_vad", eagerness: null },
      { type: "server_vad", create_response: true, interrupt_response: true },
    ],
    [
      "semantic VAD with its eagerness",
      { turnDetection: "semantic_vad", eagerness: "high" },
      { type: "semantic_vad", eagerness: "high", create_response: true, interrupt_response: true },
    ],
    [
      "push-to-talk as no turn detection at all",
      { turnDetection: "push_to_talk", eagerness: null },
      null,
    ],
  ])("sends %s", (_name, choices, turnDetection) => {
    const session = buildSessionConfig({ ...defaults, ...choices }, server);
    expect(session.audio?.input).toHaveProperty("turn_detection", turnDetection);
  });

  it("sends the chosen noise reduction, and none when it is off", () => {
    const far = buildSessionConfig({ ...defaults, noiseReduction: "far_field" }, server);
    expect(far.audio?.input?.noise_reduction).toEqual({ type: "far_field" });
    const off = buildSessionConfig({ ...defaults, noiseReduction: "off" }, server);
    expect(off.audio?.input).not.toHaveProperty("noise_reduction");
  });
});

describe("describeChoices", () => {
  it("lists every allowed value and the defaults for the client's pickers, as copies", () => {
    const choices = describeChoices(policy);
    expect(choices).toEqual({
      voices: ["marin", "cedar", "alloy"],
      languages: ["en", "de"],
      outputModalities: ["audio", "text"],
      noiseReductions: ["near_field", "far_field", "off"],
      turnDetections: ["server_vad", "semantic_vad", "push_to_talk"],
      eagerness: ["low", "medium", "high", "auto"],
      defaults: {
        voice: policy.defaultVoice,
        noiseReduction: policy.defaultNoiseReduction,
        turnDetection: policy.defaultTurnDetection,
        eagerness: policy.defaultEagerness,
      },
    });
    choices.voices.push("x");
    choices.turnDetections.push("push_to_talk");
    expect(policy.voices).toHaveLength(3);
    expect(policy.turnDetections).toHaveLength(3);
  });
});
