import { describe, expect, it } from "vitest";
import { muteButton } from "../../src/ui/callPanel";

describe("muteButton", () => {
  it("shows the user's choice during a call", () => {
    expect(muteButton("connected", { muted: false, live: true })).toEqual({
      label: "Mute",
      pressed: false,
      disabled: false,
    });
    expect(muteButton("connected", { muted: true, live: false })).toEqual({
      label: "Unmute",
      pressed: true,
      disabled: false,
    });
  });

  it("is a fresh, disabled Mute outside a call, whatever the last call's microphone was", () => {
    for (const ui of ["idle", "connecting", "reconnecting", "closed"] as const) {
      expect(muteButton(ui, { muted: true, live: false })).toEqual({
        label: "Mute",
        pressed: false,
        disabled: true,
      });
    }
  });
});
