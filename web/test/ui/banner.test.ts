import { describe, expect, it } from "vitest";
import { BannerView, type BannerElements } from "../../src/ui/banner";

/** A stand-in element: the fields the banner sets, and click listeners a test can fire. */
function element() {
  const clicks: Array<() => void> = [];
  return {
    dataset: {} as Record<string, string>,
    hidden: true,
    textContent: "",
    addEventListener: (_type: string, listener: () => void) => clicks.push(listener),
    click: () => clicks.forEach((listener) => listener()),
  };
}

function harness() {
  const els = { banner: element(), message: element(), action: element(), dismiss: element() };
  const view = new BannerView(els as unknown as BannerElements);
  const actions: string[] = [];
  view.listen((action) => actions.push(action));
  return { els, view, actions };
}

describe("BannerView", () => {
  it("shows a message with its action's label, and reports the action once, hidden first", () => {
    const t = harness();
    t.view.show({ kind: "network", message: "Couldn't reach it.", action: "retry" });
    expect(t.els.banner).toMatchObject({ hidden: false, dataset: { kind: "network" } });
    expect(t.els.message.textContent).toBe("Couldn't reach it.");
    expect(t.els.action).toMatchObject({ hidden: false, textContent: "Try again" });
    t.els.action.click();
    expect(t.actions).toEqual(["retry"]);
    expect(t.els.banner).toMatchObject({ hidden: true, dataset: { kind: "" } });
    t.els.action.click();
    expect(t.actions).toEqual(["retry"]);
  });

  it("keeps what it shows for null, and hides the action of a message without one", () => {
    const t = harness();
    t.view.show({ kind: "auth-disabled", message: "Turned off.", action: null });
    t.view.show(null);
    expect(t.els.banner.dataset.kind).toBe("auth-disabled");
    expect(t.els.action).toMatchObject({ hidden: true, textContent: "" });
    t.els.dismiss.click();
    expect(t.els.banner.hidden).toBe(true);
    expect(t.actions).toEqual([]);
  });

  it("withdraws a message only while it is the one shown", () => {
    const t = harness();
    t.view.show({ kind: "end-call-failed", message: "Not told yet.", action: null });
    t.view.show({ kind: "network", message: "Couldn't reach it.", action: "retry" });
    t.view.withdraw("end-call-failed");
    expect(t.els.banner).toMatchObject({ hidden: false, dataset: { kind: "network" } });
    t.view.show({ kind: "end-call-failed", message: "Not told yet.", action: null });
    t.view.withdraw("end-call-failed");
    expect(t.els.banner).toMatchObject({ hidden: true, dataset: { kind: "" } });
  });
});
