import { describe, expect, it } from "vitest";
import {
  EAGERNESS_LABELS,
  eagernessApplies,
  effectiveTurnDetection,
  keepAllowed,
  NOISE_REDUCTION_LABELS,
  pickerOptions,
  talkRequest,
  TURN_DETECTION_LABELS,
  type TalkSelection,
} from "../../src/ui/talkChoices";
import { SERVER_CHOICES } from "../fakes";

const DEFAULTS = SERVER_CHOICES.defaults; // semantic_vad, eagerness auto, near_field
const SERVER_VAD_DEFAULTS = { ...DEFAULTS, turnDetection: "server_vad" as const };
const none: TalkSelection = { turnDetection: "", eagerness: "", noiseReduction: "" };

describe("talkRequest", () => {
  it("leaves every default out, so the server's own defaults apply", () => {
    expect(talkRequest(none, DEFAULTS)).toEqual({});
    expect(talkRequest(none, null)).toEqual({});
  });

  it("sends what was picked", () => {
    expect(
      talkRequest(
        { turnDetection: "push_to_talk", eagerness: "", noiseReduction: "far_field" },
        DEFAULTS,
      ),
    ).toEqual({ turnDetection: "push_to_talk", noiseReduction: "far_field" });
    expect(
      talkRequest(
        { turnDetection: "semantic_vad", eagerness: "high", noiseReduction: "off" },
        null,
      ),
    ).toEqual({ turnDetection: "semantic_vad", eagerness: "high", noiseReduction: "off" });
  });

  it("sends an eagerness only with semantic VAD, picked or the server's default", () => {
    const high = { ...none, eagerness: "high" as const };
    expect(talkRequest(high, DEFAULTS)).toEqual({ eagerness: "high" });
    // The server would refuse it (invalid-argument) with any other turn detection.
    expect(talkRequest(high, SERVER_VAD_DEFAULTS)).toEqual({});
    expect(talkRequest(high, null)).toEqual({});
    expect(talkRequest({ ...high, turnDetection: "push_to_talk" }, DEFAULTS)).toEqual({
      turnDetection: "push_to_talk",
    });
  });
});

describe("effectiveTurnDetection / eagernessApplies", () => {
  it("is the pick, else the server's default, else unknown", () => {
    expect(effectiveTurnDetection({ ...none, turnDetection: "server_vad" }, DEFAULTS)).toBe(
      "server_vad",
    );
    expect(effectiveTurnDetection(none, DEFAULTS)).toBe("semantic_vad");
    expect(effectiveTurnDetection(none, null)).toBeNull();
    expect(eagernessApplies(none, DEFAULTS)).toBe(true);
    expect(eagernessApplies(none, SERVER_VAD_DEFAULTS)).toBe(false);
    expect(eagernessApplies({ ...none, turnDetection: "semantic_vad" }, null)).toBe(true);
  });
});

describe("pickerOptions", () => {
  it("offers the server's default first, named, then exactly the allowed values", () => {
    expect(
      pickerOptions(["server_vad", "push_to_talk"], "server_vad", TURN_DETECTION_LABELS),
    ).toEqual([
      { value: "", label: "Default: Voice activity" },
      { value: "server_vad", label: TURN_DETECTION_LABELS.server_vad },
      { value: "push_to_talk", label: TURN_DETECTION_LABELS.push_to_talk },
    ]);
    expect(pickerOptions(["off"], null, NOISE_REDUCTION_LABELS)[0]).toEqual({
      value: "",
      label: "Default",
    });
  });

  it("names each default once, without the label's explanation (no nested parentheses)", () => {
    expect(pickerOptions(["semantic_vad"], "semantic_vad", TURN_DETECTION_LABELS)[0]?.label).toBe(
      "Default: Semantic",
    );
    expect(pickerOptions(["near_field"], "near_field", NOISE_REDUCTION_LABELS)[0]?.label).toBe(
      "Default: Near field",
    );
    expect(pickerOptions(["auto"], "auto", EAGERNESS_LABELS)[0]?.label).toBe("Default: Auto");
  });

  it("shows a value this client has no label for as itself (a newer server)", () => {
    const labels = TURN_DETECTION_LABELS as Record<string, string>;
    expect(pickerOptions(["future_vad"], "future_vad", labels)[0]?.label).toBe(
      "Default: future_vad",
    );
    expect(pickerOptions(["server_vad", "future_vad"], null, labels)[2]).toEqual({
      value: "future_vad",
      label: "future_vad",
    });
  });
});

describe("keepAllowed", () => {
  it("keeps a pick the server still allows, and falls back to the default otherwise", () => {
    expect(keepAllowed("far_field", ["near_field", "far_field"])).toBe("far_field");
    expect(keepAllowed("off", ["near_field", "far_field"])).toBe("");
    expect(keepAllowed("", ["near_field"])).toBe("");
  });
});
