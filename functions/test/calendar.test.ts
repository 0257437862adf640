import { describe, expect, it } from "vitest";
import { nextUtcDayMs, nextUtcMonthMs, secondsUntil, utcDay, utcMonth } from "../src/calendar";

const at = (iso: string) => Date.parse(iso);

describe("calendar helpers", () => {
  it.each([
    [
      "2026-11-30T23:59:59.999Z",
      "2026-11-30",
      "2026-11",
      "2026-12-01T00:00:00.000Z",
      "2026-12-01T00:00:00.000Z",
    ],
    [
      "2026-12-31T23:59:59.999Z",
      "2026-12-31",
      "2026-12",
      "2027-01-01T00:00:00.000Z",
      "2027-01-01T00:00:00.000Z",
    ],
    [
      "2028-02-28T12:00:00.000Z",
      "2028-02-28",
      "2028-02",
      "2028-02-29T00:00:00.000Z",
      "2028-03-01T00:00:00.000Z",
    ],
    [
      "2028-02-29T23:00:00.000Z",
      "2028-02-29",
      "2028-02",
      "2028-03-01T00:00:00.000Z",
      "2028-03-01T00:00:00.000Z",
    ],
    [
      "2027-02-28T23:00:00.000Z",
      "2027-02-28",
      "2027-02",
      "2027-03-01T00:00:00.000Z",
      "2027-03-01T00:00:00.000Z",
    ],
    [
      "2026-01-31T00:00:00.000Z",
      "2026-01-31",
      "2026-01",
      "2026-02-01T00:00:00.000Z",
      "2026-02-01T00:00:00.000Z",
    ],
    [
      "2026-04-30T10:00:00.000Z",
      "2026-04-30",
      "2026-04",
      "2026-05-01T00:00:00.000Z",
      "2026-05-01T00:00:00.000Z",
    ],
  ])("%s: day %s, month %s, next day %s, next month %s", (now, day, month, nextDay, nextMonth) => {
    expect(utcDay(at(now))).toBe(day);
    expect(utcMonth(at(now))).toBe(month);
    expect(new Date(nextUtcDayMs(at(now))).toISOString()).toBe(nextDay);
    expect(new Date(nextUtcMonthMs(at(now))).toISOString()).toBe(nextMonth);
  });
});

describe("time helpers", () => {
  it("name the UTC day and its end", () => {
    expect(utcDay(Date.UTC(2026, 0, 1, 0, 0, 0))).toBe("2026-01-01");
    expect(utcDay(Date.UTC(2025, 11, 31, 23, 59, 59, 999))).toBe("2025-12-31");
    expect(nextUtcDayMs(Date.UTC(2026, 1, 28, 13))).toBe(Date.UTC(2026, 2, 1));
  });
});

describe("secondsUntil", () => {
  it("rounds a wait up to whole seconds and never says 0", () => {
    expect(secondsUntil(10_001, 0)).toBe(11);
    expect(secondsUntil(10_000, 0)).toBe(10);
    expect(secondsUntil(0, 5_000)).toBe(1);
  });
});
