import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  parseCallRequest,
  parseEndRequest,
  safetyIdentifier,
  toVoiceMinutes,
} from "../src/callRequests";
import type { Settings } from "../src/settings";
import { unitSettings } from "./helpers/settings";

const settings: Settings = unitSettings;
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

  it("puts remaining seconds on the wire with their resets and read time in epoch ms", () => {
    expect(
      toVoiceMinutes({
        daySeconds: 10,
        dayResetsAtMs: 86_400_000,
        monthSeconds: null,
        monthResetsAtMs: null,
        readAtMs: 86_000_000,
      }),
    ).toEqual({
      daySeconds: 10,
      dayResetsAtMs: 86_400_000,
      monthSeconds: null,
      monthResetsAtMs: null,
      readAtMs: 86_000_000,
    });
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

  it("names a field beside callId instead of ignoring it, as the other callables do", () => {
    expect(parseEndRequest({ callId: "rtc_ab-1", foo: 1 })).toEqual({
      ok: false,
      field: "foo",
      message: '"foo" is not a field of endRealtimeCall; send only { callId, endedAfterSeconds }.',
    });
    expect(parseEndRequest({ foo: 1 })).toMatchObject({ ok: false, field: "foo" });
  });

  it("takes when the page ended the call, in whole seconds, and names it when it is not", () => {
    expect(parseEndRequest({ callId: "rtc_ab-1", endedAfterSeconds: 8 })).toEqual({
      ok: true,
      value: { callId: "rtc_ab-1", endedAfterSeconds: 8 },
    });
    expect(parseEndRequest({ callId: "rtc_ab-1", endedAfterSeconds: 0 })).toMatchObject({
      ok: true,
    });
    for (const endedAfterSeconds of [-1, 1.5, "8", null, Number.NaN, Infinity, 86_401])
      expect(parseEndRequest({ callId: "rtc_ab-1", endedAfterSeconds })).toMatchObject({
        ok: false,
        field: "endedAfterSeconds",
        message: expect.stringContaining("whole number of seconds"),
      });
  });
});
