import { describe, expect, it } from "vitest";
import type { GuardedRequest } from "../src/guards";
import {
  createOperatorUsageHandler,
  isOperator,
  type OperatorUsageDeps,
  parseOperatorRequest,
} from "../src/operatorUsage";
import type { UsageCall } from "../src/usage";
import type { UsageRecords } from "../src/usageStore";
import { FakeLog } from "./helpers/brokered";

const NOW = Date.UTC(2026, 11, 7, 15);
const DAY_MS = 86_400_000;

function call(uid: string, atMs: number, usedSeconds: number, plan = "default"): UsageCall {
  return {
    uid,
    plan,
    api: "realtime",
    model: "gpt-realtime-2",
    counted: true,
    open: false,
    reservedAtMs: atMs,
    usedSeconds,
    refundedSeconds: 60 - usedSeconds,
  };
}

const RECORDS: UsageRecords = {
  calls: [
    call("alice", NOW - 1000, 60, "pro"),
    call("bob", NOW - 2000, 30),
    call("carol", NOW - DAY_MS, 60),
    call("carol", NOW - 40 * DAY_MS, 60),
  ],
  mints: [],
  refusals: [{ day: "2026-12-07", reason: "daily-minutes", count: 4 }],
  rollups: [],
};

function setup(overrides: Partial<OperatorUsageDeps> = {}) {
  const log = new FakeLog();
  const ranges: unknown[] = [];
  const handler = createOperatorUsageHandler({
    read: async (range) => {
      ranges.push(range);
      return RECORDS;
    },
    emails: async () => new Map([["alice", "alice@example.com"]]),
    now: () => NOW,
    log,
    ...overrides,
  });
  return { handler, log, ranges };
}

function request(token: Record<string, unknown> | undefined, data: unknown = {}): GuardedRequest {
  return {
    data,
    auth: token === undefined ? undefined : { uid: "op1", token },
    app: { alreadyConsumed: false },
    rawRequest: { headers: {} },
  };
}

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

describe("operatorUsage", () => {
  it("answers permission-denied, saying how to become an operator, without the admin claim", async () => {
    const { handler, ranges, log } = setup();
    for (const token of [{}, { voiceAdmin: "true" }, { voiceAdmin: false }, { admin: true }]) {
      expect(await thrown(handler(request(token)))).toMatchObject({
        code: "permission-denied",
        message: expect.stringMatching(
          /operatorUsage is for operators.*voiceAdmin claim.*npm run plan -- admin <uid\|email> on/,
        ),
      });
    }
    expect(ranges).toEqual([]);
    expect(log.messages()).toContain("operator_usage_denied");
    expect(isOperator({ voiceAdmin: true })).toBe(true);
  });

  it("answers unauthenticated when signed out or without App Check", async () => {
    const { handler } = setup();
    expect(await thrown(handler(request(undefined)))).toMatchObject({ code: "unauthenticated" });
    const noAppCheck = { ...request({ voiceAdmin: true }), app: undefined };
    expect(await thrown(handler(noAppCheck))).toMatchObject({ code: "unauthenticated" });
  });

  it("checks days: 1 to 31, 30 by default", async () => {
    expect(parseOperatorRequest(undefined)).toEqual({ ok: true, days: 30 });
    expect(parseOperatorRequest({})).toEqual({ ok: true, days: 30 });
    expect(parseOperatorRequest({ days: 7 })).toEqual({ ok: true, days: 7 });
    const { handler } = setup();
    for (const days of [0, 32, 2.5, "7"])
      expect(await thrown(handler(request({ voiceAdmin: true }, { days })))).toMatchObject({
        code: "invalid-argument",
        details: { field: "days" },
      });
  });

  it("gives an operator every day of the range by plan, today's top users and refusals", async () => {
    const { handler, ranges } = setup();
    const answer = await handler(request({ voiceAdmin: true }, { days: 2 }));
    expect(ranges).toEqual([{ from: "2026-12-06", to: "2026-12-07" }]);
    expect(answer.days).toEqual([
      {
        day: "2026-12-06",
        byPlan: {
          default: { calls: 1, usedSeconds: 60, refundedSeconds: 0, estimatedCostUsd: 0.048 },
        },
      },
      {
        day: "2026-12-07",
        byPlan: {
          default: { calls: 1, usedSeconds: 30, refundedSeconds: 30, estimatedCostUsd: 0.024 },
          pro: { calls: 1, usedSeconds: 60, refundedSeconds: 0, estimatedCostUsd: 0.048 },
        },
      },
    ]);
    expect(answer.topUsers).toEqual([
      { uid: "alice", email: "alice@example.com", plan: "pro", calls: 1, usedSeconds: 60 },
      { uid: "bob", email: null, plan: "default", calls: 1, usedSeconds: 30 },
    ]);
    expect(answer.refusals).toEqual({ "daily-minutes": 4 });
    expect(answer.generatedAtMs).toBe(NOW);
  });

  it("answers unavailable when the records cannot be read, and without emails when Auth fails", async () => {
    const failing = setup({ read: () => Promise.reject(new Error("deadline")) });
    expect(await thrown(failing.handler(request({ voiceAdmin: true })))).toMatchObject({
      code: "unavailable",
      message: "Could not read the usage records. Try again shortly.",
    });
    expect(failing.log.messages()).toContain("operator_usage_store_failed");
    const noEmails = setup({ emails: () => Promise.reject(new Error("auth down")) });
    const answer = await noEmails.handler(request({ voiceAdmin: true }));
    expect(answer.topUsers.map((u) => u.email)).toEqual([null, null]);
  });
});
