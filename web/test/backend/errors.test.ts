import { FunctionsError } from "firebase/functions";
import { describe, expect, it } from "vitest";
import { CALL_LIMIT_REASONS, LIMIT_REASONS } from "voice-contract";
import { readCallableError, refusalOf } from "../../src/backend/errors";

describe("readCallableError", () => {
  it("reads the code and the details every callable sends", () => {
    const minutes = {
      daySeconds: 0,
      dayResetsAtMs: 9_000,
      monthSeconds: null,
      monthResetsAtMs: null,
      readAtMs: 8_000,
    };
    expect(
      readCallableError(
        new FunctionsError("resource-exhausted", "used", {
          reason: "daily-minutes",
          retryAfterSeconds: 1.2,
          minutes,
        }),
      ),
    ).toEqual({
      code: "resource-exhausted",
      serverMessage: "used",
      unreachable: false,
      reason: "daily-minutes",
      retryAfterSeconds: 2,
      minutes,
    });
    expect(
      readCallableError(
        new FunctionsError("failed-precondition", "x", {
          reason: "mode-not-served",
          served: ["secret", "telepathy"],
        }),
      ),
    ).toMatchObject({ reason: "mode-not-served", served: ["secret"] });
    expect(
      readCallableError(new FunctionsError("invalid-argument", "x", { field: "voice" })),
    ).toMatchObject({ code: "invalid-argument", field: "voice" });
  });

  it("leaves out details that are missing or malformed", () => {
    const read = readCallableError(
      new FunctionsError("resource-exhausted", "x", {
        reason: 3,
        retryAfterSeconds: -1,
        field: null,
        minutes: { daySeconds: "lots" },
      }),
    );
    expect(read).toEqual({ code: "resource-exhausted", serverMessage: "x", unreachable: false });
    expect(readCallableError(new Error("boom"))).toEqual({
      code: "unknown",
      serverMessage: "boom",
      unreachable: false,
    });
    expect(readCallableError(null)).toEqual({
      code: "unknown",
      serverMessage: "",
      unreachable: false,
    });
  });

  it("tells a request that got no answer from a deliberate internal error", () => {
    expect(readCallableError(new FunctionsError("internal", "internal [0]")).unreachable).toBe(
      true,
    );
    expect(readCallableError(new FunctionsError("internal", "")).unreachable).toBe(true);
    expect(readCallableError(new FunctionsError("internal", "misconfigured")).unreachable).toBe(
      false,
    );
  });
});

describe("refusalOf", () => {
  it("is the refusal when a known reason comes with a wait", () => {
    const failure = readCallableError(
      new FunctionsError("resource-exhausted", "x", { reason: "ip-rate", retryAfterSeconds: 9 }),
    );
    expect(refusalOf(failure, LIMIT_REASONS)).toEqual({ reason: "ip-rate", retryAfterSeconds: 9 });
    expect(refusalOf(failure, CALL_LIMIT_REASONS)).toEqual({
      reason: "ip-rate",
      retryAfterSeconds: 9,
    });
    expect(refusalOf(failure, ["daily-quota"])).toBeUndefined();
    expect(refusalOf({ ...failure, retryAfterSeconds: undefined }, LIMIT_REASONS)).toBeUndefined();
    expect(refusalOf({ ...failure, reason: "bored" }, LIMIT_REASONS)).toBeUndefined();
  });
});
