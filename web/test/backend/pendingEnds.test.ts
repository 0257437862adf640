import { FunctionsError } from "firebase/functions";
import { describe, expect, it } from "vitest";
import type { EndRealtimeCallRequest } from "voice-contract";
import {
  PENDING_ENDS_ITEM,
  PendingEnds,
  retryDelayMs,
  type EndStorage,
  type PendingEnd,
} from "../../src/backend/pendingEnds";
import { flush } from "../fakes";

/** `localStorage` as a map; one instance stands for the browser profile across pages. */
class FakeStorage implements EndStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

/** A wall clock and a timer queue the test advances by hand. */
class FakeTimers {
  now = 1_000_000;
  #queue: { at: number; work: () => void; cancelled: boolean }[] = [];
  schedule = (work: () => void, ms: number) => {
    const entry = { at: this.now + ms, work, cancelled: false };
    this.#queue.push(entry);
    return () => (entry.cancelled = true);
  };
  get pending(): number[] {
    return this.#queue.filter((e) => !e.cancelled).map((e) => e.at - this.now);
  }
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    for (;;) {
      const next = this.#queue
        .filter((e) => !e.cancelled && e.at <= until)
        .sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.#queue.splice(this.#queue.indexOf(next), 1);
      this.now = next.at;
      next.work();
      await flush();
    }
    this.now = until;
  }
}

/** The SDK's error for a function it could not reach. */
const unreachable = () => new FunctionsError("internal", "internal [0]");
const ANSWER = { outcome: "ended", usedSeconds: 5, minutes: {} };

/** An end callable that fails while `down` and records every request. */
function endpoint() {
  const state = {
    down: true,
    sent: [] as EndRealtimeCallRequest[],
    failWith: unreachable as () => Error,
    send: async (request: EndRealtimeCallRequest): Promise<unknown> => {
      state.sent.push(request);
      if (state.down) throw state.failWith();
      return ANSWER;
    },
  };
  return state;
}

const END: PendingEnd = { uid: "u1", callId: "rtc_1", endedAfterSeconds: 5, untilMs: 1_030_000 };

function setup(storage = new FakeStorage(), timers = new FakeTimers(), server = endpoint()) {
  const answered: [PendingEnd, unknown][] = [];
  const ends = new PendingEnds({
    send: server.send,
    storage,
    now: () => timers.now,
    schedule: timers.schedule,
    onAnswered: (end, answer) => answered.push([end, answer]),
  });
  return { ends, storage, timers, server, answered };
}

describe("retryDelayMs", () => {
  it("backs off 1, 2, 4, then every 8 s", () => {
    expect([1, 2, 3, 4, 5, 9].map(retryDelayMs)).toEqual([
      1_000, 2_000, 4_000, 8_000, 8_000, 8_000,
    ]);
  });
});

describe("PendingEnds", () => {
  it("sends the end once and keeps nothing when the server answers", async () => {
    const { ends, server, storage, answered } = setup();
    server.down = false;
    expect(await ends.submit(END)).toEqual(ANSWER);
    expect(server.sent).toEqual([{ callId: "rtc_1", endedAfterSeconds: 5 }]);
    expect(storage.items.has(PENDING_ENDS_ITEM)).toBe(false);
    // The first try's answer is the caller's; onAnswered is for retries.
    expect(answered).toEqual([]);
  });

  it("keeps a failed end and retries it with backoff, with the claim of the click, until answered", async () => {
    const { ends, server, storage, timers, answered } = setup();
    expect(await ends.submit(END)).toBeNull();
    expect(JSON.parse(storage.getItem(PENDING_ENDS_ITEM) ?? "")).toEqual([END]);
    expect(timers.pending).toEqual([1_000]);
    await timers.advance(1_000);
    expect(timers.pending).toEqual([2_000]);
    await timers.advance(2_000);
    expect(server.sent).toHaveLength(3);
    server.down = false;
    await timers.advance(4_000);
    expect(server.sent).toHaveLength(4);
    // Every try carries what was measured at the click, however late it goes.
    for (const request of server.sent)
      expect(request).toEqual({ callId: "rtc_1", endedAfterSeconds: 5 });
    expect(answered).toEqual([[END, ANSWER]]);
    expect(storage.items.has(PENDING_ENDS_ITEM)).toBe(false);
    expect(timers.pending).toEqual([]);
  });

  it("gives up at the call's deadline: the server charges the slice then anyway", async () => {
    const { ends, server, storage, timers } = setup();
    await ends.submit(END);
    await timers.advance(60_000);
    // Tries at 0, 1, 3, 7, 15, 23 s; one more at 31 s would be past the 30 s deadline.
    expect(server.sent).toHaveLength(6);
    expect(timers.pending).toEqual([]);
    expect(storage.items.has(PENDING_ENDS_ITEM)).toBe(false);
  });

  it("stops at an answer retrying cannot change (not the user's call, refused request)", async () => {
    for (const code of ["not-found", "invalid-argument", "failed-precondition"] as const) {
      const { ends, server, storage, timers } = setup();
      server.failWith = () => new FunctionsError(code, "no");
      expect(await ends.submit(END)).toBeNull();
      expect(timers.pending).toEqual([]);
      expect(storage.items.has(PENDING_ENDS_ITEM)).toBe(false);
    }
  });

  it("retries what a server outage answered (unavailable, deadline-exceeded)", async () => {
    for (const code of ["unavailable", "deadline-exceeded", "unauthenticated"] as const) {
      const { ends, server, timers } = setup();
      server.failWith = () => new FunctionsError(code, "later");
      await ends.submit(END);
      expect(timers.pending).toEqual([1_000]);
    }
  });

  it("survives the page: a reload (a new PendingEnds on the same storage) retries it for its user", async () => {
    const storage = new FakeStorage();
    const timers = new FakeTimers();
    const server = endpoint();
    const first = setup(storage, timers, server);
    await first.ends.submit(END);
    first.ends.dispose();
    expect(timers.pending).toEqual([]);

    const next = setup(storage, timers, server);
    server.down = false;
    await timers.advance(5_000);
    next.ends.resume("someone-else");
    await flush();
    expect(server.sent).toHaveLength(1);
    next.ends.resume("u1");
    await flush();
    expect(server.sent).toEqual([
      { callId: "rtc_1", endedAfterSeconds: 5 },
      { callId: "rtc_1", endedAfterSeconds: 5 },
    ]);
    expect(next.answered).toEqual([[END, ANSWER]]);
    expect(storage.items.has(PENDING_ENDS_ITEM)).toBe(false);
    // Resuming again sends nothing more.
    next.ends.resume("u1");
    await flush();
    expect(server.sent).toHaveLength(2);
  });

  it("forgets kept ends past their deadline without sending them, and leaves other users' alone", async () => {
    const storage = new FakeStorage();
    const other: PendingEnd = { ...END, uid: "u2", callId: "rtc_2", untilMs: 2_000_000 };
    storage.setItem(PENDING_ENDS_ITEM, JSON.stringify([END, other]));
    const { ends, server, timers } = setup(storage);
    timers.now = END.untilMs;
    ends.resume("u1");
    await flush();
    expect(server.sent).toEqual([]);
    expect(ends.kept).toEqual([other]);
  });

  it("reads garbled or foreign storage as nothing kept, and works without storage", async () => {
    const storage = new FakeStorage();
    storage.setItem(PENDING_ENDS_ITEM, "{not json");
    const { ends, server } = setup(storage);
    ends.resume("u1");
    expect(server.sent).toEqual([]);
    storage.setItem(PENDING_ENDS_ITEM, JSON.stringify([{ callId: 7 }, { ...END, untilMs: "x" }]));
    expect(ends.kept).toEqual([]);

    const timers = new FakeTimers();
    const bare = new PendingEnds({
      send: endpoint().send,
      storage: null,
      now: () => timers.now,
      schedule: timers.schedule,
    });
    expect(await bare.submit(END)).toBeNull();
    expect(timers.pending).toEqual([1_000]);
    expect(bare.kept).toEqual([]);
  });
});
