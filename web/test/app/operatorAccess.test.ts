import { describe, expect, it } from "vitest";
import { ADMIN_CLAIM } from "voice-contract";
import { isOperator } from "../../src/app/operatorAccess";

describe("isOperator", () => {
  it("is true only for the admin claim set to true", () => {
    expect(isOperator({ [ADMIN_CLAIM]: true })).toBe(true);
    expect(isOperator({ [ADMIN_CLAIM]: "true" })).toBe(false);
    expect(isOperator({ [ADMIN_CLAIM]: 1 })).toBe(false);
    expect(isOperator({ voicePlan: "staff" })).toBe(false);
    expect(isOperator({})).toBe(false);
  });
});
