import { describe, expect, it } from "vitest";
import { LIVE_ALLOWED_CLIENT_EVENTS } from "voice-contract";
import { buildLiveSessionConfig, describeLiveSession, liveChoiceProblem } from "../src/liveSession";
import type { SessionChoices } from "../src/session";

const CHOICES: SessionChoices = {
  voice: "cedar",
  outputModality: "audio",
  language: null,
  noiseReduction: "far_field",
  turnDetection: "semantic_vad",
  eagerness: "high",
};
const SERVER = { model: "gpt-live-1", instructions: "Be brief." };

describe("buildLiveSessionConfig", () => {
  it("fixes the model, instructions and voice, and lets the page send only mute and unmute", () => {
    expect(buildLiveSessionConfig(CHOICES, SERVER, [], "hash-1")).toEqual({
      model: "gpt-live-1",
      instructions: "Be brief.",
      audio: { output: { voice: "cedar" } },
      client: { data_channel: { allowed_client_events: [...LIVE_ALLOWED_CLIENT_EVENTS] } },
      delegation: { type: "client" },
      store: false,
      safety_identifier: "hash-1",
    });
    expect(LIVE_ALLOWED_CLIENT_EVENTS).toEqual([
      "session.input_audio.mute",
      "session.input_audio.unmute",
    ]);
  });

  it("puts the language hint into the instructions, Live having no transcription settings", () => {
    const config = buildLiveSessionConfig({ ...CHOICES, language: "de" }, SERVER, [], "h");
    expect(config.instructions).toBe(
      'Be brief.\n\nThe user is expected to speak the language with ISO 639-1 code "de".',
    );
  });

  it("passes a reconnect's prior turns as Live's input, in order, as text", () => {
    const config = buildLiveSessionConfig(
      CHOICES,
      SERVER,
      [
        { role: "user", text: "What's the capital of France?" },
        { role: "assistant", text: "Paris." },
      ],
      "h",
    );
    expect(config.input).toEqual([
      {
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "What's the capital of France?" }],
      },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Paris." }] },
    ]);
  });

  it("has no field for noise reduction or turn detection, whatever was chosen", () => {
    const near = buildLiveSessionConfig(
      { ...CHOICES, noiseReduction: "near_field" },
      SERVER,
      [],
      "h",
    );
    const ptt = buildLiveSessionConfig(
      { ...CHOICES, turnDetection: "push_to_talk", eagerness: null },
      SERVER,
      [],
      "h",
    );
    expect(near).toEqual(buildLiveSessionConfig(CHOICES, SERVER, [], "h"));
    expect(ptt).toEqual(near);
  });
});

describe("liveChoiceProblem", () => {
  it("refuses a text-only call and accepts the rest", () => {
    expect(liveChoiceProblem(CHOICES)).toBeUndefined();
    expect(liveChoiceProblem({ ...CHOICES, outputModality: "text" })).toMatchObject({
      field: "outputModality",
      message: expect.stringContaining("always speaks") as unknown,
    });
  });
});

describe("describeLiveSession", () => {
  it("tells the page its choices, with Live's own transcription", () => {
    expect(describeLiveSession(CHOICES)).toEqual({ ...CHOICES, transcription: true });
  });
});
