import type { InferOutput } from "valibot";
import { describe, expect, expectTypeOf, it } from "vitest";
import type {
  EndRealtimeCallResponse,
  RealtimeCallPrepared,
  RealtimeCallResponse,
} from "../src/call.js";
import type { SessionChoiceOptions } from "../src/choices.js";
import {
  EndRealtimeCallResponseSchema,
  RealtimeCallPreparedSchema,
  RealtimeCallResponseSchema,
} from "../src/callSchemas.js";
import { RealtimeTokenResponseSchema, checkResponse } from "../src/schemas.js";
import type { RealtimeTokenResponse } from "../src/token.js";

const CHOICES: SessionChoiceOptions = {
  voices: ["marin"],
  languages: ["en"],
  outputModalities: ["audio", "text"],
  noiseReductions: ["near_field", "far_field", "off"],
  turnDetections: ["server_vad", "semantic_vad", "push_to_talk"],
  eagerness: ["low", "medium", "high", "auto"],
  defaults: {
    voice: "marin",
    noiseReduction: "near_field",
    turnDetection: "server_vad",
    eagerness: "auto",
  },
};
const SESSION = {
  voice: "marin",
  outputModality: "audio",
  language: null,
  transcription: true,
  noiseReduction: "near_field",
  turnDetection: "server_vad",
  eagerness: null,
} as const;
const MINUTES = {
  daySeconds: 1800,
  dayResetsAtMs: 1_780_012_800_000,
  monthSeconds: null,
  monthResetsAtMs: null,
  readAtMs: 1_780_000_000_000,
};
const TOKEN: RealtimeTokenResponse = {
  token: "ek_1",
  expiresAtMs: 1_780_000_120_000,
  model: "gpt-realtime",
  session: SESSION,
  quota: { limit: 50, remaining: 49, resetsAtMs: 1_780_012_800_000 },
  choices: CHOICES,
};
const CALL: RealtimeCallResponse = {
  answer: "v=0\r\n",
  callId: "rtc_1",
  api: "realtime",
  endsAtMs: 1_780_000_300_000,
  sliceSeconds: 300,
  model: "gpt-realtime",
  session: SESSION,
  minutes: MINUTES,
  limitedBy: "call",
  choices: CHOICES,
};

describe("the response schemas", () => {
  it("have exactly the contract's types as output", () => {
    expectTypeOf<
      InferOutput<typeof RealtimeTokenResponseSchema>
    >().toEqualTypeOf<RealtimeTokenResponse>();
    expectTypeOf<
      InferOutput<typeof RealtimeCallResponseSchema>
    >().toEqualTypeOf<RealtimeCallResponse>();
    expectTypeOf<
      InferOutput<typeof RealtimeCallPreparedSchema>
    >().toEqualTypeOf<RealtimeCallPrepared>();
    expectTypeOf<
      InferOutput<typeof EndRealtimeCallResponseSchema>
    >().toEqualTypeOf<EndRealtimeCallResponse>();
  });

  it("accept well-formed results", () => {
    expect(checkResponse(RealtimeTokenResponseSchema, TOKEN)).toEqual({ ok: true, value: TOKEN });
    expect(checkResponse(RealtimeCallResponseSchema, CALL)).toEqual({ ok: true, value: CALL });
    const prepared = {
      prepared: true,
      minutes: MINUTES,
      maxCallSeconds: 600,
      model: "m",
      apis: ["live", "realtime"],
      choices: CHOICES,
    };
    expect(checkResponse(RealtimeCallPreparedSchema, prepared)).toEqual({
      ok: true,
      value: prepared,
    });
    const ended = { outcome: "ended", usedSeconds: 12, minutes: MINUTES };
    expect(checkResponse(EndRealtimeCallResponseSchema, ended)).toEqual({ ok: true, value: ended });
  });

  it("name the first field that is missing or wrong, never its value", () => {
    expect(checkResponse(RealtimeTokenResponseSchema, null)).toEqual({
      ok: false,
      problem: "not an object",
    });
    expect(checkResponse(RealtimeTokenResponseSchema, { ...TOKEN, token: "" })).toEqual({
      ok: false,
      problem: "no token",
    });
    // A server from before the time units were settled sent `expiresAt` in unix seconds.
    const { expiresAtMs: _, ...old } = TOKEN;
    expect(
      checkResponse(RealtimeTokenResponseSchema, { ...old, expiresAt: 1_780_000_120 }),
    ).toEqual({ ok: false, problem: "no expiresAtMs" });
    const secretAnswer = { ...CALL, answer: "ek_secret" };
    const checked = checkResponse(RealtimeCallResponseSchema, secretAnswer);
    expect(checked).toEqual({ ok: false, problem: "no answer" });
    expect(JSON.stringify(checked)).not.toContain("ek_secret");
    expect(
      checkResponse(RealtimeCallResponseSchema, {
        ...CALL,
        minutes: { ...MINUTES, daySeconds: "x" },
      }),
    ).toEqual({ ok: false, problem: "no minutes.daySeconds" });
    // Without its read time a figure cannot be ordered against another tab's.
    const { readAtMs: _read, ...unordered } = MINUTES;
    expect(checkResponse(RealtimeCallResponseSchema, { ...CALL, minutes: unordered })).toEqual({
      ok: false,
      problem: "no minutes.readAtMs",
    });
    expect(
      checkResponse(EndRealtimeCallResponseSchema, {
        outcome: "gone",
        usedSeconds: null,
        minutes: MINUTES,
      }),
    ).toEqual({ ok: false, problem: "no outcome" });
    expect(
      checkResponse(RealtimeCallPreparedSchema, {
        prepared: false,
        minutes: MINUTES,
        maxCallSeconds: 1,
        model: "m",
        apis: ["realtime"],
        choices: CHOICES,
      }),
    ).toEqual({ ok: false, problem: "no prepared" });
  });

  it("name the upstream a call runs on, and at least one a caller may open", () => {
    expect(checkResponse(RealtimeCallResponseSchema, { ...CALL, api: "sip" })).toEqual({
      ok: false,
      problem: "no api",
    });
    const { api: _api, ...unnamed } = CALL;
    expect(checkResponse(RealtimeCallResponseSchema, unnamed)).toEqual({
      ok: false,
      problem: "no api",
    });
    const prepared = { prepared: true, minutes: MINUTES, maxCallSeconds: 1, model: "m" };
    for (const apis of [[], ["realtime", "sip"], undefined])
      expect(
        checkResponse(RealtimeCallPreparedSchema, { ...prepared, apis, choices: CHOICES }),
      ).toMatchObject({ ok: false, problem: expect.stringMatching(/^no apis/) as unknown });
  });

  it("reject a choice outside the vocabulary", () => {
    const choices = { ...CHOICES, turnDetections: ["server_vad", "telepathy"] };
    expect(checkResponse(RealtimeTokenResponseSchema, { ...TOKEN, choices })).toEqual({
      ok: false,
      problem: "no choices.turnDetections.1",
    });
  });
});
