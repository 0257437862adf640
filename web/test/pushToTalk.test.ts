import type { RealtimeClientEvent } from "openai/resources/realtime/realtime";
import { describe, expect, it } from "vitest";
import {
  gateSender,
  PushToTalk,
  type PushToTalkOptions,
  type PushToTalkState,
  talkKeyAction,
} from "../src/realtime/pushToTalk";
import { FakeSender, FakeTrack, flush } from "./fakes";

/** A controller on a fake track, recording what it sent and in which order with the mic. */
function setup(overrides: Partial<PushToTalkOptions> = {}) {
  const track = new FakeTrack();
  const sender = new FakeSender();
  const log: string[] = [];
  const states: PushToTalkState[] = [];
  let now = 1000;
  const gate = gateSender(sender, track);
  const ptt = new PushToTalk({
    send: (event: RealtimeClientEvent) => log.push(event.type),
    setMicOpen: (open) => {
      gate(open);
      log.push(open ? "mic:open" : "mic:closed");
    },
    now: () => now,
    onChange: (state) => states.push(state),
    ...overrides,
  });
  return {
    ptt,
    track,
    sender,
    log,
    states,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe("PushToTalk", () => {
  it("keeps the microphone closed until the first press", () => {
    const t = setup();
    expect(t.track.enabled).toBe(false);
    expect(t.log).toEqual(["mic:closed"]);
    expect(t.ptt.state).toEqual({ phase: "released" });
  });

  it("clears the buffer and opens the mic on press; closes, commits and asks once on release", () => {
    const t = setup();
    t.ptt.press();
    expect(t.track.enabled).toBe(true);
    t.advance(1500);
    expect(t.ptt.release()).toEqual({ sent: true, heldMs: 1500 });
    expect(t.track.enabled).toBe(false);
    expect(t.log).toEqual([
      "mic:closed",
      "input_audio_buffer.clear",
      "mic:open",
      "mic:closed",
      "input_audio_buffer.commit",
      "response.create",
    ]);
    expect(t.states).toEqual([{ phase: "holding", since: 1000 }, { phase: "released" }]);
  });

  it("sends one turn per hold, however often the key repeats", () => {
    const t = setup();
    t.ptt.press();
    t.ptt.press();
    t.ptt.press();
    t.advance(800);
    t.ptt.release();
    expect(t.ptt.release()).toEqual({ sent: false, reason: "not-holding", heldMs: 0 });
    expect(t.log.filter((type) => type === "response.create")).toHaveLength(1);
    expect(t.log.filter((type) => type === "input_audio_buffer.clear")).toHaveLength(1);
  });

  it("treats a tap shorter than the minimum as a slip: cleared, not committed", () => {
    const t = setup({ minHoldMs: 300 });
    t.ptt.press();
    t.advance(299);
    expect(t.ptt.release()).toEqual({ sent: false, reason: "too-short", heldMs: 299 });
    expect(t.log.slice(-2)).toEqual(["mic:closed", "input_audio_buffer.clear"]);
    expect(t.log).not.toContain("input_audio_buffer.commit");
    expect(t.track.enabled).toBe(false);
  });

  it("interrupts the assistant before the user's turn starts, and before it is committed", () => {
    const t = setup({ interrupt: () => t.log.push("interrupt") });
    t.ptt.press();
    expect(t.log.slice(1)).toEqual(["interrupt", "input_audio_buffer.clear", "mic:open"]);
    t.advance(500);
    t.ptt.release();
    expect(t.log.slice(4)).toEqual([
      "mic:closed",
      "interrupt",
      "input_audio_buffer.commit",
      "response.create",
    ]);
  });

  it("does not interrupt on a slip: nothing is sent that needs the floor", () => {
    const t = setup({ interrupt: () => t.log.push("interrupt") });
    t.ptt.press();
    t.ptt.release();
    expect(t.log.filter((type) => type === "interrupt")).toHaveLength(1);
  });

  it("cancels a hold without sending it", () => {
    const t = setup();
    t.ptt.press();
    t.advance(2000);
    t.ptt.cancel();
    t.ptt.cancel();
    expect(t.log.slice(3)).toEqual(["mic:closed", "input_audio_buffer.clear"]);
    expect(t.track.enabled).toBe(false);
  });

  it("closes the mic before a send that throws (a closed channel) can leave it open", () => {
    let failing = false;
    const t = setup({
      send: () => {
        if (failing) throw new Error("channel closed");
      },
    });
    t.ptt.press();
    t.advance(1000);
    failing = true;
    expect(() => t.ptt.release()).toThrow("channel closed");
    expect(t.track.enabled).toBe(false);
    expect(t.ptt.state).toEqual({ phase: "released" });
  });

  it("disposes idempotently: the mic closes, nothing is sent, later calls do nothing", () => {
    const t = setup();
    t.ptt.press();
    t.ptt.dispose();
    t.ptt.dispose();
    expect(t.track.enabled).toBe(false);
    const sent = t.log.length;
    t.ptt.press();
    expect(t.ptt.release()).toEqual({ sent: false, reason: "disposed", heldMs: 0 });
    expect(t.log).toHaveLength(sent);
    expect(t.track.enabled).toBe(false);
  });
});

describe("talkKeyAction", () => {
  const key = (
    type: "keydown" | "keyup",
    extra: Partial<Parameters<typeof talkKeyAction>[0]> = {},
  ) => talkKeyAction({ type, code: "Space", repeat: false, inTextField: false, ...extra });

  it("maps Space down and up to press and release, ignoring auto-repeat", () => {
    expect(key("keydown")).toBe("press");
    expect(key("keydown", { repeat: true })).toBeNull();
    expect(key("keyup")).toBe("release");
  });

  it("leaves Space to a focused text field, and other keys alone", () => {
    expect(key("keydown", { inTextField: true })).toBeNull();
    expect(key("keyup", { inTextField: true })).toBeNull();
    expect(key("keydown", { code: "KeyA" })).toBeNull();
  });
});

describe("gateSender", () => {
  it("puts the track on the sender only while open, so nothing is sent between holds", async () => {
    const track = new FakeTrack();
    const sender = new FakeSender();
    const gate = gateSender(sender, track);
    gate(false);
    gate(true);
    gate(false);
    await flush();
    expect(sender.replaced).toEqual([null, track, null]);
    expect(track.enabled).toBe(false);
  });

  it("reports a switch that failed", async () => {
    const sender = new FakeSender();
    const failure = new Error("closed");
    sender.failNext = failure;
    const errors: unknown[] = [];
    gateSender(sender, new FakeTrack(), (error) => errors.push(error))(true);
    await flush();
    expect(errors).toEqual([failure]);
  });
});
