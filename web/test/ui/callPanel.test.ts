import { describe, expect, it } from "vitest";
import { connectControl, muteButton, type ConnectBlock } from "../../src/ui/callPanel";
import { stateView, type StateView } from "../../src/ui/reconnectView";

const SPENT: ConnectBlock = {
  reason: "daily-minutes",
  message: "You have used today's voice minutes. They come back in 3 h (midnight UTC).",
};
const idle = stateView({ status: "idle" });
const closed: StateView = { ui: "closed", label: "Disconnected", reason: "ended" };
const connected: StateView = { ui: "connected", label: "Connected", reason: "" };

describe("connectControl", () => {
  it("offers Connect when signed in and nothing runs, and Reconnect after a call closed", () => {
    const base = { signedIn: true, pushToTalk: false, blocked: null };
    expect(connectControl({ ...base, view: idle })).toEqual({
      disabled: false,
      label: "Connect",
      hint: null,
    });
    expect(connectControl({ ...base, view: closed })).toEqual({
      disabled: false,
      label: "Reconnect",
      hint: null,
    });
    expect(connectControl({ ...base, signedIn: false, view: idle }).disabled).toBe(true);
  });

  it("is off with the reason while the minutes are spent, and offers no Reconnect then", () => {
    const base = { signedIn: true, pushToTalk: false, blocked: SPENT };
    expect(connectControl({ ...base, view: idle })).toEqual({
      disabled: true,
      label: "Connect",
      hint: SPENT,
    });
    // After the server's hang-up at the budget.
    expect(connectControl({ ...base, view: closed })).toEqual({
      disabled: true,
      label: "Connect",
      hint: SPENT,
    });
    // During a call the hint says nothing: the running call is not blocked.
    expect(connectControl({ ...base, view: connected })).toMatchObject({ hint: null });
  });
});

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
