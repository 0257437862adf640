import { FunctionsError } from "firebase/functions";
import { describe, expect, it } from "vitest";
import { ADMIN_CLAIM } from "voice-contract";
import { callableOperatorUsage } from "../../src/backend/callable";
import { OperatorError, readOperatorUsage, toOperatorError } from "../../src/backend/operatorUsage";
import { REAL_TIME } from "../timeouts";
import { functionsAt, hangs, listen } from "./callableServer";

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

describe("callableOperatorUsage with the SDK's real errors", REAL_TIME, () => {
  async function readAt(port: number, timeoutMs?: number): Promise<OperatorError> {
    const { functions, close } = functionsAt(port);
    try {
      await callableOperatorUsage(functions, timeoutMs)({ days: 7 });
    } catch (error) {
      return toOperatorError(error);
    } finally {
      await close();
    }
    throw new Error("expected operatorUsage to fail");
  }

  it("reads a function that never answers as the usage server's timeout", async () => {
    const server = await listen(hangs);
    const error = await readAt(server.port, 200);
    server.close();
    expect(error).toMatchObject({ kind: "timeout", code: "deadline-exceeded" });
    expect(error.message).toMatch(/did not answer in time/);
    expect(server.requests).toEqual([{ data: { days: 7 } }]);
  });

  it("reads a refused port as unreachable", async () => {
    const server = await listen();
    server.close();
    expect(await readAt(server.port)).toMatchObject({ kind: "unreachable" });
  });

  it("reads an answer that breaks the contract as malformed", async () => {
    const server = await listen(() => ({ status: 200, body: { result: { days: "thirty" } } }));
    const error = await readAt(server.port);
    server.close();
    expect(error).toMatchObject({ kind: "malformed" });
  });
});
