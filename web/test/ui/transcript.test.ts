import { describe, expect, it } from "vitest";
import { showsHint } from "../../src/ui/transcript";

describe("showsHint", () => {
  it("asks to press Connect only before a call and before anything was said", () => {
    expect(showsHint(0, false)).toBe(true);
    expect(showsHint(0, true)).toBe(false);
    expect(showsHint(2, false)).toBe(false);
    expect(showsHint(2, true)).toBe(false);
  });
});
