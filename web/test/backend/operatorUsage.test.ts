import { FunctionsError } from "firebase/functions";
import { describe, expect, it } from "vitest";
import { ADMIN_CLAIM } from "voice-contract";
import { OperatorError, readOperatorUsage, toOperatorError } from "../../src/backend/operatorUsage";

describe("toOperatorError", () => {
  it("reads each code into a kind, never by the message", () => {
    const kinds = (
      [
        ["permission-denied", "not-operator"],
        ["unauthenticated", "not-signed-in"],
        ["deadline-exceeded", "timeout"],
        ["unavailable", "unavailable"],
        ["invalid-argument", "invalid-request"],
        ["failed-precondition", "misconfigured"],
        ["not-found", "misconfigured"],
        ["internal", "misconfigured"],
        ["aborted", "unknown"],
      ] as const
    ).map(([code, kind]) => [
      kind,
      toOperatorError(new FunctionsError(code, "permission-denied unauthenticated")).kind,
    ]);
    for (const [want, got] of kinds) expect(got).toBe(want);
  });

  it("tells a non-operator which claim they lack and how it is granted", () => {
    const error = toOperatorError(new FunctionsError("permission-denied", "Forbidden"));
    expect(error).toBeInstanceOf(OperatorError);
    expect(error.code).toBe("permission-denied");
    expect(error.message).toContain(`"${ADMIN_CLAIM}"`);
    expect(error.message).toContain("npm run plan -- admin <uid|email> on");
    expect(error.message).toContain("Refresh");
  });

  it("tells an unanswered request (the SDK's internal [0]) from a server failure", () => {
    expect(toOperatorError(new FunctionsError("internal", "internal [0]")).kind).toBe(
      "unreachable",
    );
    expect(toOperatorError(new FunctionsError("internal", "boom")).kind).toBe("misconfigured");
    expect(toOperatorError(new Error("no code")).kind).toBe("unknown");
  });

  it("passes an OperatorError through", () => {
    const error = new OperatorError("malformed", "x", "");
    expect(toOperatorError(error)).toBe(error);
  });
});

describe("readOperatorUsage", () => {
  const valid = {
    days: [
      {
        day: "2026-12-07",
        byPlan: { free: { calls: 1, usedSeconds: 60, refundedSeconds: 0, estimatedCostUsd: 0.1 } },
      },
    ],
    topUsers: [{ uid: "u1", email: null, plan: "free", calls: 1, usedSeconds: 60 }],
    refusals: { "daily-minutes": 2 },
    generatedAtMs: 1_765_000_000_000,
  };

  it("returns an answer that keeps the contract", () => {
    expect(readOperatorUsage(valid)).toEqual(valid);
  });

  it("rejects one that does not, naming where, as malformed", () => {
    const bad = { ...valid, topUsers: [{ ...valid.topUsers[0], usedSeconds: "60" }] };
    expect(() => readOperatorUsage(bad)).toThrow(/at topUsers\.0\.usedSeconds/);
    const thrown = (() => {
      try {
        readOperatorUsage(null);
      } catch (error) {
        return error;
      }
      return null;
    })();
    expect(thrown).toBeInstanceOf(OperatorError);
    expect((thrown as OperatorError).kind).toBe("malformed");
    expect((thrown as OperatorError).message).toMatch(/not an object/);
    expect(() => readOperatorUsage({ ...valid, days: [{ day: "Dec 7", byPlan: {} }] })).toThrow(
      /at days\.0\.day/,
    );
    expect(() => readOperatorUsage({ ...valid, refusals: { x: -1 } })).toThrow(OperatorError);
  });
});
