import { describe, expect, it } from "vitest";
import { parsePlanArgs } from "../plan.js";
import { formatUsage, parseUsageArgs, type UsageOutput } from "../usage.js";

const NOW = Date.UTC(2026, 11, 7, 15);

describe("npm run usage: arguments", () => {
  it("reads a day, a range, the top count, JSON, the project and the emulator switch", () => {
    expect(parseUsageArgs([], NOW)).toEqual({
      range: { from: "2026-12-07", to: "2026-12-07" },
      top: 10,
      json: false,
      emails: true,
      rollups: true,
      emulator: false,
    });
    expect(parseUsageArgs(["--day", "2026-12-01", "--json"], NOW)).toMatchObject({
      range: { from: "2026-12-01", to: "2026-12-01" },
      json: true,
    });
    expect(
      parseUsageArgs(
        [
          "--from",
          "2026-11-08",
          "--to",
          "2026-12-07",
          "--top",
          "3",
          "--project",
          "p",
          "--emulator",
          "--no-emails",
        ],
        NOW,
      ),
    ).toEqual({
      range: { from: "2026-11-08", to: "2026-12-07" },
      top: 3,
      json: false,
      emails: false,
      rollups: true,
      emulator: true,
      project: "p",
    });
  });

  it.each([
    [
      ["--day", "2026-12-01", "--from", "2026-12-01", "--to", "2026-12-02"],
      /--day or --from\/--to/,
    ],
    [["--from", "2026-12-01"], /--from and --to go together/],
    [["--day", "12/01/2026"], /from must be a date YYYY-MM-DD, got "12\/01\/2026"/],
    [["--from", "2026-12-05", "--to", "2026-12-01"], /is after to/],
    [["--top", "ten"], /--top must be a whole number/],
    [["--day"], /--day needs a value/],
    [["--csv"], /Unknown argument --csv/],
  ])("answers %j with what to fix and the usage", (argv, message) => {
    expect(() => parseUsageArgs(argv, NOW)).toThrow(message);
    expect(() => parseUsageArgs(argv, NOW)).toThrow(/Usage: npm run usage --/);
  });
});

describe("npm run plan -- admin", () => {
  it("shows, sets or clears the operator claim", () => {
    expect(parsePlanArgs(["admin", "a@b.c"])).toEqual({
      kind: "admin",
      user: "a@b.c",
      emulator: false,
    });
    expect(parsePlanArgs(["admin", "uid1", "on"])).toMatchObject({ kind: "admin", set: true });
    expect(parsePlanArgs(["admin", "uid1", "off", "--emulator"])).toMatchObject({
      set: false,
      emulator: true,
    });
    expect(() => parsePlanArgs(["admin", "uid1", "yes"])).toThrow(/admin <uid\|email> \[on\|off\]/);
  });
});

describe("npm run usage: the table", () => {
  const usage = (calls: number, used: number) => ({
    calls,
    usedSeconds: used,
    refundedSeconds: 30,
    estimatedCostUsd: 0.048,
    mints: 2,
    unpricedSeconds: 0,
  });
  const output: UsageOutput = {
    range: { from: "2026-12-06", to: "2026-12-07" },
    generatedAtMs: NOW,
    days: [
      { day: "2026-12-06", byPlan: {} },
      { day: "2026-12-07", byPlan: { pro: usage(1, 60) } },
    ],
    byPlan: { pro: usage(1, 60) },
    total: { ...usage(1, 60), unpricedSeconds: 90 },
    openCalls: 1,
    topUsers: [
      { uid: "alice", email: "alice@example.com", plan: "pro", calls: 1, usedSeconds: 60 },
    ],
    refusals: { "daily-minutes": 4 },
    source: "Firestore emulator 127.0.0.1:8080",
    pricesAsOf: "2026-11",
    readMs: 1234,
    rollups: { used: ["2026-12-06"], kept: [] },
  };

  it("prints every day, the totals by plan, refusals, top users and the estimate's basis", () => {
    const text = formatUsage(output);
    expect(text).toMatch(/^Voice usage, 2026-12-06 to 2026-12-07 \(UTC\), Firestore emulator/);
    expect(text).toMatch(/read in 1\.23 s \(1 days from kept rollups\)/);
    expect(parseUsageArgs(["--no-rollups"], NOW).rollups).toBe(false);
    expect(text).toMatch(/2026-12-06\s+-\s+0\s+0\.0\s+0\.0\s+0\s+\$0\.00/);
    expect(text).toMatch(/2026-12-07\s+pro\s+1\s+1\.0\s+0\.5\s+2\s+\$0\.0480/);
    expect(text).toMatch(/total\s+all plans\s+1\s+1\.0/);
    expect(text).toMatch(/prices as of 2026-11/);
    expect(text).toMatch(/1\.5 min of models without a price/);
    expect(text).toMatch(/1 calls are still open/);
    expect(text).toMatch(/daily-minutes\s+4/);
    expect(text).toMatch(/alice\s+alice@example\.com\s+pro\s+1\s+1\.0/);
  });

  it("says none where there are no refusals or users", () => {
    const text = formatUsage({ ...output, refusals: {}, topUsers: [] });
    expect(text).toMatch(/Refusals by reason\n {2}none/);
    expect(text).toMatch(/Top users by minutes used\n {2}none/);
  });
});
