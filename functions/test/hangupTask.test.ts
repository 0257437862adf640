import { describe, expect, it } from "vitest";
import { createHangupTaskHandler, parseHangupTask, RetryTask } from "../src/hangupTask";
import type { CallOutcome, MinuteStore } from "../src/minuteStore";
import type { CallRecord, EndedBy } from "../src/minutes";
import { UpstreamError } from "../src/openai";
import type { BrokeredUpstream, HangupOutcome } from "../src/upstream";

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const task = { uid: "u1", seq: 3, callId: "rtc_abc", deadlineMs: T0 + 4_000 };
const live: CallRecord = {
  status: "live",
  uid: "u1",
  seq: 3,
  reservedAtMs: T0 - 100,
  reservedSeconds: 4,
  callId: "rtc_abc",
  startedAtMs: T0,
  deadlineMs: T0 + 4_000,
};

function world(record: CallRecord | undefined, hangups: (HangupOutcome | Error)[] = ["ended"]) {
  let now = T0;
  const events: string[] = [];
  const ends: { endedBy: EndedBy; endedAtMs: number | undefined }[] = [];
  const store = {
    getCall: async () => record,
    end: async (_ref: unknown, endedBy: EndedBy, options?: { endedAtMs?: number }) => {
      events.push("end");
      ends.push({ endedBy, endedAtMs: options?.endedAtMs });
      return { kind: "missing" } as CallOutcome;
    },
  } as unknown as MinuteStore;
  const upstream = {
    name: "openai-realtime",
    createCall: async () => {
      throw new Error("not used");
    },
    hangup: async (callId: string) => {
      events.push(`hangup ${callId} at +${now - T0}`);
      const next = hangups.shift() ?? "ended";
      if (next instanceof Error) throw next;
      return next;
    },
  } as BrokeredUpstream;
  const quiet = { info() {}, warn() {}, error() {} };
  const handler = createHangupTaskHandler({
    store: () => store,
    upstream: () => upstream,
    timeoutMs: () => 1_000,
    maxWaitMs: 60_000,
    now: () => now,
    sleep: async (ms) => {
      events.push(`sleep ${ms}`);
      now += ms;
    },
    log: quiet,
  });
  return { handler, events, ends, advance: (ms: number) => (now += ms) };
}

describe("parseHangupTask", () => {
  it("accepts a task and refuses anything else without throwing", () => {
    expect(parseHangupTask(task)).toEqual(task);
    for (const bad of [
      null,
      "x",
      {},
      { ...task, seq: 0 },
      { ...task, callId: "a/b" },
      { ...task, uid: "" },
    ])
      expect(parseHangupTask(bad)).toBeNull();
  });
});

describe("the deadline task", () => {
  it("waits for the deadline when dispatched early, then hangs up, then ends the record", async () => {
    const w = world(live);
    await w.handler({ data: task });
    expect(w.events).toEqual(["sleep 4000", "hangup rtc_abc at +4000", "end"]);
    expect(w.ends).toEqual([{ endedBy: "deadline", endedAtMs: T0 + 4_000 }]);
  });

  it("never hangs up before the deadline: too early to wait is a retry", async () => {
    const w = world({ ...live, deadlineMs: T0 + 120_000 });
    await expect(w.handler({ data: task })).rejects.toBeInstanceOf(RetryTask);
    expect(w.events).toEqual([]);
  });

  it("does nothing for a call that already ended or failed", async () => {
    const ended = world({ ...live, status: "failed", failure: "x" } as CallRecord);
    await ended.handler({ data: task });
    expect(ended.events).toEqual([]);
  });

  it("retries when the hang-up fails, and ends nothing", async () => {
    const w = world(live, [new UpstreamError("unavailable", "down")]);
    w.advance(5_000);
    await expect(w.handler({ data: task })).rejects.toBeInstanceOf(RetryTask);
    expect(w.events).toEqual(["hangup rtc_abc at +5000"]);
    await w.handler({ data: task });
    expect(w.ends).toHaveLength(1);
  });

  it("hangs up a call with no record at the task's own deadline (ending twice is harmless)", async () => {
    const w = world(undefined);
    w.advance(4_500);
    await w.handler({ data: task });
    expect(w.events).toEqual(["hangup rtc_abc at +4500", "end"]);
  });

  it("drops a payload that is not a task, without a retry", async () => {
    const w = world(live);
    await w.handler({ data: { nope: true } });
    expect(w.events).toEqual([]);
  });
});
