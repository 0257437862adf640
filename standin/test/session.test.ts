import { describe, expect, it } from "vitest";
import { REALTIME_MODELS } from "../src/models.js";
import { mergeSession, resolveSession, validateSessionRequest } from "../src/session.js";

function problem(input: unknown) {
  const result = validateSessionRequest(input, "session");
  if (result.ok) throw new Error("expected a validation error");
  return result.error;
}

describe("validateSessionRequest", () => {
  it.each([
    [{}, "missing_required_parameter", "session.type"],
    [{ type: "realtime", modalities: ["audio"] }, "unknown_parameter", "session.modalities"],
    [{ type: "transcription" }, "unsupported_value", "session.type"],
    [{ type: "conversation" }, "invalid_value", "session.type"],
    [{ type: "realtime", model: "gpt-4o-realtime-preview" }, "invalid_value", "session.model"],
    [{ type: "realtime", model: "gpt-5" }, "invalid_value", "session.model"],
    [{ type: "realtime", instructions: 42 }, "invalid_type", "session.instructions"],
    [
      { type: "realtime", output_modalities: ["audio", "text"] },
      "invalid_value",
      "session.output_modalities",
    ],
    [
      { type: "realtime", output_modalities: ["video"] },
      "invalid_value",
      "session.output_modalities[0]",
    ],
    [
      { type: "realtime", max_output_tokens: 0 },
      "integer_below_min_value",
      "session.max_output_tokens",
    ],
    [
      { type: "realtime", max_output_tokens: 5000 },
      "integer_above_max_value",
      "session.max_output_tokens",
    ],
    [{ type: "realtime", max_output_tokens: "max" }, "invalid_value", "session.max_output_tokens"],
    [
      { type: "realtime", audio: { output: { voice: "nova" } } },
      "invalid_value",
      "session.audio.output.voice",
    ],
    [
      { type: "realtime", audio: { output: { speed: 2 } } },
      "decimal_above_max_value",
      "session.audio.output.speed",
    ],
    [
      { type: "realtime", audio: { output: { pitch: 1 } } },
      "unknown_parameter",
      "session.audio.output.pitch",
    ],
    [
      { type: "realtime", audio: { input: { format: { type: "audio/pcm", rate: 16000 } } } },
      "invalid_value",
      "session.audio.input.format.rate",
    ],
    [
      { type: "realtime", audio: { input: { format: { type: "audio/pcmu", rate: 8000 } } } },
      "unknown_parameter",
      "session.audio.input.format.rate",
    ],
    [
      { type: "realtime", audio: { input: { format: { type: "pcm16" } } } },
      "invalid_value",
      "session.audio.input.format.type",
    ],
    [
      { type: "realtime", audio: { input: { transcription: { model: "whisper-2" } } } },
      "invalid_value",
      "session.audio.input.transcription.model",
    ],
    [
      { type: "realtime", audio: { input: { transcription: { keywords: "Firebase" } } } },
      "invalid_type",
      "session.audio.input.transcription.keywords",
    ],
    [
      { type: "realtime", audio: { input: { transcription: { languages: ["en", 7] } } } },
      "invalid_type",
      "session.audio.input.transcription.languages[1]",
    ],
    [
      {
        type: "realtime",
        audio: { input: { turn_detection: { type: "server_vad", threshold: 1.5 } } },
      },
      "decimal_above_max_value",
      "session.audio.input.turn_detection.threshold",
    ],
    [
      {
        type: "realtime",
        audio: { input: { turn_detection: { type: "semantic_vad", threshold: 0.5 } } },
      },
      "unknown_parameter",
      "session.audio.input.turn_detection.threshold",
    ],
    [
      { type: "realtime", tools: [{ type: "function" }] },
      "missing_required_parameter",
      "session.tools[0].name",
    ],
    [
      { type: "realtime", tools: [{ type: "function", name: "has space" }] },
      "invalid_value",
      "session.tools[0].name",
    ],
    [
      { type: "realtime", tools: [{ type: "mcp", server_label: "x" }] },
      "unsupported_value",
      "session.tools[0].type",
    ],
    [{ type: "realtime", tool_choice: "sometimes" }, "invalid_value", "session.tool_choice"],
    [{ type: "realtime", tracing: "on" }, "invalid_value", "session.tracing"],
    [
      { type: "realtime", truncation: { type: "retention_ratio" } },
      "missing_required_parameter",
      "session.truncation.retention_ratio",
    ],
  ])("rejects %j with %s at %s", (input, code, param) => {
    const error = problem(input);
    expect(error).toMatchObject({ status: 400, type: "invalid_request_error", code, param });
    // Upstream names the parameter in every message except value errors, which quote the value.
    if (!["invalid_value", "unsupported_value"].includes(code))
      expect(error.message).toContain(`'${param}'`);
  });

  it("accepts a full GA session", () => {
    const session = {
      type: "realtime",
      model: "gpt-realtime-2",
      instructions: "Be brief.",
      output_modalities: ["audio"],
      max_output_tokens: "inf",
      reasoning: { effort: "low" },
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24000 },
          noise_reduction: { type: "near_field" },
          transcription: {
            model: "gpt-transcribe",
            languages: ["en", "de"],
            keywords: ["Firebase"],
          },
          turn_detection: { type: "server_vad", silence_duration_ms: 400, create_response: true },
        },
        output: { format: { type: "audio/pcmu" }, voice: "marin", speed: 1.1 },
      },
      tools: [
        { type: "function", name: "get_weather", parameters: { type: "object", properties: {} } },
      ],
      tool_choice: { type: "function", name: "get_weather" },
      tracing: null,
      truncation: { type: "retention_ratio", retention_ratio: 0.8 },
    };
    expect(validateSessionRequest(session)).toEqual({ ok: true, value: session });
  });

  it("knows every live realtime model and none of the preview ones", () => {
    expect(REALTIME_MODELS).toContain("gpt-realtime-2");
    expect(REALTIME_MODELS.some((m) => m.includes("preview"))).toBe(false);
    for (const model of REALTIME_MODELS)
      expect(validateSessionRequest({ type: "realtime", model }).ok).toBe(true);
  });
});

describe("resolveSession", () => {
  it("fills upstream's defaults", () => {
    const session = resolveSession({ type: "realtime" }, { id: "sess_1", expiresAt: 0 });
    expect(session).toMatchObject({
      id: "sess_1",
      object: "realtime.session",
      type: "realtime",
      model: "gpt-realtime",
      output_modalities: ["audio"],
      tools: [],
      tool_choice: "auto",
      max_output_tokens: "inf",
      tracing: null,
      truncation: "auto",
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24000 },
          turn_detection: {
            type: "server_vad",
            threshold: 0.5,
            prefix_padding_ms: 300,
            silence_duration_ms: 500,
            create_response: true,
            interrupt_response: true,
          },
        },
        output: { format: { type: "audio/pcm", rate: 24000 }, voice: "alloy", speed: 1 },
      },
    });
    expect(session.instructions).toMatch(/\S/);
    expect(session.audio?.input).not.toHaveProperty("transcription");
  });

  it("keeps what the request sets and completes a partial turn detection", () => {
    const session = resolveSession(
      {
        type: "realtime",
        model: "gpt-realtime-mini",
        audio: {
          input: { turn_detection: { type: "semantic_vad", eagerness: "high" } },
          output: { voice: "cedar" },
        },
      },
      { id: "sess_2", expiresAt: 0 },
    );
    expect(session.model).toBe("gpt-realtime-mini");
    expect(session.audio?.output?.voice).toBe("cedar");
    expect(session.audio?.input?.turn_detection).toEqual({
      type: "semantic_vad",
      eagerness: "high",
      create_response: true,
      interrupt_response: true,
    });
  });
});

describe("mergeSession", () => {
  const base = resolveSession(
    {
      type: "realtime",
      instructions: "old",
      audio: { input: { transcription: { model: "whisper-1" } }, output: { voice: "ash" } },
    },
    { id: "sess_3", expiresAt: 99 },
  );

  it("updates only the fields present and merges audio per field", () => {
    const merged = mergeSession(base, {
      type: "realtime",
      instructions: "new",
      audio: { output: { speed: 1.2 } },
    });
    expect(merged.instructions).toBe("new");
    expect(merged.audio?.output).toMatchObject({ voice: "ash", speed: 1.2 });
    expect(merged.audio?.input?.transcription).toEqual({ model: "whisper-1" });
    expect(merged.id).toBe("sess_3");
    expect(merged.expires_at).toBe(99);
  });

  it("turns features off with null", () => {
    const merged = mergeSession(base, {
      type: "realtime",
      audio: { input: { transcription: null as never, turn_detection: null } },
    });
    expect(merged.audio?.input).not.toHaveProperty("transcription");
    expect(merged.audio?.input?.turn_detection).toBeNull();
  });
});
