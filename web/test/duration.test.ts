import { describe, expect, it } from "vitest";
import { formatDuration } from "../src/duration";

describe("formatDuration", () => {
  it("rounds a wait up to whole minutes from a minute on", () => {
    expect(formatDuration(45, "wait")).toBe("45 s");
    expect(formatDuration(60, "wait")).toBe("1 min");
    expect(formatDuration(61, "wait")).toBe("2 min");
    expect(formatDuration(3600, "wait")).toBe("1 h");
    expect(formatDuration(3661, "wait")).toBe("1 h 2 min");
    expect(formatDuration(3599, "wait")).toBe("1 h");
    expect(formatDuration(4.2, "wait")).toBe("5 s");
  });

  it("rounds an amount down and keeps its seconds under the hour", () => {
    expect(formatDuration(45, "amount")).toBe("45 s");
    expect(formatDuration(750, "amount")).toBe("12 min 30 s");
    expect(formatDuration(600, "amount")).toBe("10 min");
    expect(formatDuration(7500, "amount")).toBe("2 h 5 min");
    expect(formatDuration(7259, "amount")).toBe("2 h");
    expect(formatDuration(59.9, "amount")).toBe("59 s");
    expect(formatDuration(-3, "amount")).toBe("0 s");
  });

  it("shows a countdown as m:ss, or h:mm:ss from an hour", () => {
    expect(formatDuration(65, "clock")).toBe("1:05");
    expect(formatDuration(65.9, "clock")).toBe("1:05");
    expect(formatDuration(3725, "clock")).toBe("1:02:05");
    expect(formatDuration(0, "clock")).toBe("0:00");
    expect(formatDuration(-1, "clock")).toBe("0:00");
  });
});
