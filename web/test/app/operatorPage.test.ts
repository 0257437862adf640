import { FunctionsError } from "firebase/functions";
import { describe, expect, it } from "vitest";
import type { OperatorUsageRequest, OperatorUsageResponse } from "voice-contract";
import {
  OPERATOR_DAYS,
  OperatorPage,
  TOKEN_REFRESH_TIMEOUT_MS,
  type OperatorPageState,
} from "../../src/app/operatorPage";
import { FakeClock, flush } from "../fakes";

const USAGE: OperatorUsageResponse = {
  days: [{ day: "2026-12-07", byPlan: {} }],
  topUsers: [],
  refusals: {},
  generatedAtMs: 1,
};

/** A promise with its settlers, for answers the test releases. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setup() {
  const clock = new FakeClock();
  const states: OperatorPageState[] = [];
  const requests: OperatorUsageRequest[] = [];
  const events: string[] = [];
  let answers: Promise<OperatorUsageResponse>[] = [];
  let refresh: () => Promise<unknown> = async () => undefined;
  const page = new OperatorPage({
    refreshToken: () => {
      events.push("refresh");
      return refresh();
    },
    fetchUsage: (request) => {
      events.push("fetch");
      requests.push(request);
      return answers.shift() ?? Promise.resolve(USAGE);
    },
    render: (state) => states.push(state),
    timers: clock,
  });
  return {
    page,
    clock,
    states,
    requests,
    events,
    answer: (...next: Promise<OperatorUsageResponse>[]) => (answers = next),
    refreshWith: (next: () => Promise<unknown>) => (refresh = next),
    statuses: () => states.map((s) => s.status),
  };
}

describe("OperatorPage", () => {
  it("refreshes the token before it asks for the last 30 days, then shows the answer", async () => {
    const t = setup();
    await t.page.signedIn();
    expect(t.events).toEqual(["refresh", "fetch"]);
    expect(t.requests).toEqual([{ days: OPERATOR_DAYS }]);
    expect(OPERATOR_DAYS).toBe(30);
    expect(t.states).toEqual([
      { status: "signing-in" },
      { status: "loading" },
      { status: "shown", usage: USAGE },
    ]);
  });

  it("shows a non-operator the server's refusal as not-operator, whatever its message", async () => {
    const t = setup();
    t.answer(Promise.reject(new FunctionsError("permission-denied", "anything at all")));
    await t.page.signedIn();
    const last = t.states.at(-1);
    expect(last?.status).toBe("failed");
    if (last?.status !== "failed") return;
    expect(last.error.kind).toBe("not-operator");
    expect(last.error.message).toMatch(/not an operator/);
  });

  it("asks with the token it has when the refresh fails or hangs past its deadline", async () => {
    const failing = setup();
    failing.refreshWith(() => Promise.reject(new Error("offline")));
    await failing.page.signedIn();
    expect(failing.statuses().at(-1)).toBe("shown");

    const hanging = setup();
    hanging.refreshWith(() => new Promise(() => undefined));
    const done = hanging.page.signedIn();
    await flush();
    expect(hanging.events).toEqual(["refresh"]);
    hanging.clock.advance(TOKEN_REFRESH_TIMEOUT_MS);
    await done;
    expect(hanging.events).toEqual(["refresh", "fetch"]);
    expect(hanging.statuses().at(-1)).toBe("shown");
  });

  it("refreshes the token on Refresh too, so a claim granted since counts", async () => {
    const t = setup();
    await t.page.signedIn();
    await t.page.refresh();
    expect(t.events).toEqual(["refresh", "fetch", "refresh", "fetch"]);
    expect(t.statuses()).toEqual(["signing-in", "loading", "shown", "loading", "shown"]);
  });

  it("shows only the latest load's answer", async () => {
    const t = setup();
    const first = deferred<OperatorUsageResponse>();
    const newer = { ...USAGE, generatedAtMs: 2 };
    t.answer(first.promise, Promise.resolve(newer));
    const firstLoad = t.page.signedIn();
    await flush();
    await t.page.refresh();
    first.resolve(USAGE);
    await firstLoad;
    expect(t.states.at(-1)).toEqual({ status: "shown", usage: newer });
    expect(t.states.filter((s) => s.status === "shown")).toHaveLength(1);
  });

  it("says so when no one could be signed in, and drops a load still on its way", async () => {
    const t = setup();
    const pending = deferred<OperatorUsageResponse>();
    t.answer(pending.promise);
    const load = t.page.signedIn();
    await flush();
    t.page.signInFailed();
    pending.resolve(USAGE);
    await load;
    const last = t.states.at(-1);
    expect(last?.status).toBe("failed");
    if (last?.status === "failed") expect(last.error.kind).toBe("not-signed-in");
    await t.page.refresh();
    expect(t.states.at(-1)).toBe(last);
  });

  it("drops an answer that arrives after the user signed out, and refreshes nothing then", async () => {
    const t = setup();
    const pending = deferred<OperatorUsageResponse>();
    t.answer(pending.promise);
    const load = t.page.signedIn();
    await flush();
    t.page.signedOut();
    pending.resolve(USAGE);
    await load;
    await t.page.refresh();
    expect(t.statuses()).toEqual(["signing-in", "loading", "signing-in"]);
  });
});
