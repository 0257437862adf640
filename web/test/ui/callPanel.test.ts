import { describe, expect, it } from "vitest";
import { connectControl, type ConnectBlock } from "../../src/ui/callPanel";
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
