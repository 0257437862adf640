import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../src/firestoreOps";
import { createHangupTaskHandler, parseHangupTask, RetryTask } from "../src/hangupTask";
import type { CallOutcome, MinuteStore } from "../src/minuteStore";
import { type CallRecord, type EndedBy, liveCall } from "../src/minutes";
import { UpstreamError } from "../src/openai";
import type { BrokeredUpstream, HangupOutcome } from "../src/upstream";
import { FakeLiveUpstream, FakeLog, FakeMinuteStore, FakeUpstream } from "./helpers/brokered";

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
    const failed = world({ ...live, status: "failed", failure: "x" } as CallRecord);
    await failed.handler({ data: task });
    expect(failed.events).toEqual([]);
    const ended = world({
      ...live,
      status: "ended",
      endedAtMs: T0 + 1_000,
      endedBy: "user",
      usedSeconds: 1,
      unusedSeconds: 3,
    });
    await ended.handler({ data: task });
    expect(ended.events).toEqual([]);
  });

  it("hangs up a settled call whose hang-up was not confirmed, at the deadline", async () => {
    const open = world({
      ...live,
      status: "failed",
      failure: "x",
      upstreamOpen: true,
    } as CallRecord);
    await open.handler({ data: task });
    expect(open.events).toEqual(["sleep 4000", "hangup rtc_abc at +4000", "end"]);
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

// ---- Against the minute store's books (test/helpers/brokered.ts): what was charged ----

const KEY = "sk-unit-task-key-0123456789";
const limits = { dailySeconds: 60, monthlySeconds: 0, maxCallSeconds: 4 };

/** A live 4 s call of u1 opened at T0 in a store that keeps the books, and the task for it. */
async function booked() {
  let now = T0;
  const store = new FakeMinuteStore(() => now);
  const upstream = new FakeUpstream();
  const log = new FakeLog();
  const reserved = await store.reserve("u1", limits);
  if (!reserved.ok) throw new Error("not reserved");
  const live = liveCall(reserved.held, "rtc_abc", now);
  await store.start(live);
  const handler = createHangupTaskHandler({
    store: () => store,
    upstream: () => upstream,
    timeoutMs: () => 1_000,
    maxWaitMs: 60_000,
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    log,
  });
  const run = (retryCount = 0) =>
    handler({
      data: { uid: "u1", seq: 1, callId: "rtc_abc", deadlineMs: live.deadlineMs },
      retryCount,
    });
  return { store, upstream, log, run, advance: (ms: number) => (now += ms) };
}

describe("the deadline task and the books", () => {
  it("charges the whole slice at the deadline, and a second delivery changes nothing", async () => {
    const w = await booked();
    w.advance(4_000);
    await w.run();
    expect(w.upstream.hungUp).toEqual(["rtc_abc"]);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({
      status: "ended",
      endedBy: "deadline",
      usedSeconds: 4,
    });
    expect(w.store.charged("u1")).toBe(4);
    await w.run();
    expect(w.upstream.hungUp).toEqual(["rtc_abc"]);
    expect(w.store.charged("u1")).toBe(4);
  });

  it("leaves a call its owner already ended alone: no hang-up, the refund stands", async () => {
    const w = await booked();
    w.advance(1_500);
    await w.store.end({ uid: "u1", seq: 1 }, "user");
    expect(w.store.charged("u1")).toBe(2);
    w.advance(2_500);
    await w.run();
    expect(w.upstream.hungUp).toEqual([]);
    expect(w.store.charged("u1")).toBe(2);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ endedBy: "user" });
  });

  it("reads the record again at the deadline: a call ended while it waited is left alone", async () => {
    let now = T0;
    const store = new FakeMinuteStore(() => now);
    const upstream = new FakeUpstream();
    const reserved = await store.reserve("u1", limits);
    if (!reserved.ok) throw new Error("not reserved");
    const live = liveCall(reserved.held, "rtc_abc", now);
    await store.start(live);
    const handler = createHangupTaskHandler({
      store: () => store,
      upstream: () => upstream,
      timeoutMs: () => 1_000,
      maxWaitMs: 60_000,
      now: () => now,
      // The owner ends the call (a confirmed hang-up) while the task waits for the deadline.
      sleep: async (ms) => {
        now += 1_000;
        await store.end({ uid: "u1", seq: 1 }, "user");
        now += ms - 1_000;
      },
      log: new FakeLog(),
    });
    await handler({ data: { uid: "u1", seq: 1, callId: "rtc_abc", deadlineMs: live.deadlineMs } });
    expect(upstream.hungUp).toEqual([]);
    expect(store.calls.filter((c) => c.startsWith("end"))).toEqual(["end user"]);
    expect(store.charged("u1")).toBe(1);
  });

  it("retries (throws) while the hang-up fails, ends nothing meanwhile, and refunds at most once", async () => {
    const w = await booked();
    w.upstream.hangupResults.push(
      new UpstreamError("unavailable", "down", { status: 503 }),
      new UpstreamError("unavailable", "no answer", { timedOut: true }),
    );
    w.advance(4_000);
    await expect(w.run()).rejects.toBeInstanceOf(RetryTask);
    await expect(w.run()).rejects.toBeInstanceOf(RetryTask);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "live" });
    expect(w.store.calls.filter((c) => c.startsWith("end"))).toEqual([]);
    w.advance(1_000);
    await w.run();
    expect(w.upstream.hungUp).toEqual(["rtc_abc"]);
    // The slice is used up; a late end by the page refunds nothing more.
    expect(w.store.charged("u1")).toBe(4);
    await w.store.end({ uid: "u1", seq: 1 }, "user");
    expect(w.store.charged("u1")).toBe(4);
  });

  it("retries when the record cannot be read or ended, and the retry ends it once", async () => {
    const w = await booked();
    w.advance(4_000);
    w.store.failNext.getCall = new StoreUnavailableError("the call lookup timed out");
    await expect(w.run()).rejects.toBeInstanceOf(RetryTask);
    expect(w.upstream.hungUp).toEqual([]);
    w.store.failNext.end = new StoreUnavailableError("the call end timed out");
    await expect(w.run()).rejects.toBeInstanceOf(RetryTask);
    // Hung up, not yet recorded: the retry hangs up again (harmless) and ends the record.
    await w.run();
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "ended", endedBy: "deadline" });
    expect(w.store.charged("u1")).toBe(4);
  });

  it("takes a 404 as no proof: asks again on the next attempts, then ends the record unconfirmed", async () => {
    const w = await booked();
    w.upstream.hangupResults.push("not-found", "not-found", "not-found", "not-found");
    w.advance(4_000);
    for (const retryCount of [0, 1, 2]) {
      await expect(w.run(retryCount)).rejects.toBeInstanceOf(RetryTask);
      expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "live" });
    }
    await w.run(3);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "ended", endedBy: "deadline" });
    expect(w.store.charged("u1")).toBe(4);
    expect(w.log.messages()).toContain("realtime_call_deadline_unconfirmed");
  });

  it("ends the record at once when a retried 404 is followed by a confirmed hang-up", async () => {
    const w = await booked();
    w.upstream.hangupResults.push("not-found");
    w.advance(4_000);
    await expect(w.run(0)).rejects.toBeInstanceOf(RetryTask);
    await w.run(1);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "ended", endedBy: "deadline" });
    expect(w.log.messages()).not.toContain("realtime_call_deadline_unconfirmed");
  });

  it("logs what happened without the key", async () => {
    const w = await booked();
    w.upstream.hangupResults.push(new UpstreamError("auth", `Incorrect API key provided: ${KEY}`));
    w.advance(4_000);
    await expect(w.run()).rejects.toBeInstanceOf(RetryTask);
    await w.run();
    expect(w.log.messages()).toEqual([
      "realtime_call_deadline_hangup_failed",
      "realtime_call_deadline_done",
    ]);
    expect(w.log.text()).not.toContain(KEY);
    expect(w.log.entries[1]?.fields).toMatchObject({ outcome: "ended", lateMs: 0 });
  });
});

describe("the deadline task of a GPT-Live call", () => {
  /** A live 4 s Live call of u1 opened at T0, and the task as realtimeCall enqueues it. */
  async function bookedLive() {
    let now = T0;
    const store = new FakeMinuteStore(() => now);
    const realtime = new FakeUpstream();
    const live = new FakeLiveUpstream();
    const reserved = await store.reserve("u1", limits);
    if (!reserved.ok) throw new Error("not reserved");
    const record = liveCall(reserved.held, "live_abc", now, { api: "live", model: "gpt-live-1" });
    await store.start(record);
    const asked: string[] = [];
    const handler = createHangupTaskHandler({
      store: () => store,
      upstream: (api) => {
        asked.push(api);
        return api === "live" ? live : realtime;
      },
      timeoutMs: () => 1_000,
      maxWaitMs: 60_000,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      log: new FakeLog(),
    });
    const data = {
      uid: "u1",
      seq: 1,
      callId: "live_abc",
      deadlineMs: record.deadlineMs,
      api: "live",
    };
    return {
      store,
      realtime,
      live,
      asked,
      run: () => handler({ data, retryCount: 0 }),
      advance: (ms: number) => (now += ms),
    };
  }

  it("closes the session on the Live upstream and charges the seconds Live reports", async () => {
    const w = await bookedLive();
    w.live.usageSeconds.push(3.2);
    w.advance(4_000);
    await w.run();
    expect(w.asked).toEqual(["live"]);
    expect(w.live.hungUp).toEqual(["live_abc"]);
    expect(w.realtime.hungUp).toEqual([]);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({
      status: "ended",
      endedBy: "deadline",
      api: "live",
      model: "gpt-live-1",
      usedSeconds: 4,
      upstreamSeconds: 3.2,
    });
    expect(w.store.charged("u1")).toBe(4);
  });

  it("hands back what Live did not count, and charges the slice when it reports none", async () => {
    const w = await bookedLive();
    w.live.usageSeconds.push(2);
    w.advance(4_000);
    await w.run();
    expect(w.store.charged("u1")).toBe(2);

    const bare = await bookedLive();
    bare.advance(4_000);
    await bare.run();
    expect(bare.store.charged("u1")).toBe(4);
  });

  it("reads the api from the task when the record does not name one", () => {
    expect(parseHangupTask({ ...task, api: "live" })).toEqual({ ...task, api: "live" });
    expect(parseHangupTask({ ...task, api: "sip" })).toBeNull();
  });
});
