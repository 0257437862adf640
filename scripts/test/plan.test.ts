import { describe, expect, it } from "vitest";
import { parsePlanArgs, readDotenv } from "../plan.js";

describe("npm run plan: arguments", () => {
  it("reads set and show, with a project and the emulator switch", () => {
    expect(parsePlanArgs(["set", "a@b.c", "pro"])).toEqual({
      kind: "set",
      user: "a@b.c",
      plan: "pro",
      emulator: false,
    });
    expect(parsePlanArgs(["show", "uid1", "--project", "my-app", "--emulator"])).toEqual({
      kind: "show",
      user: "uid1",
      project: "my-app",
      emulator: true,
    });
  });

  it.each([
    [[]],
    [["set", "uid1"]],
    [["show"]],
    [["show", "uid1", "pro"]],
    [["grant", "uid1", "pro"]],
  ])("answers %j with the usage", (argv) => {
    expect(() => parsePlanArgs(argv)).toThrow(/^Usage: npm run plan -- set <uid\|email> <plan>/);
  });

  it("names a bad option or a missing project id", () => {
    expect(() => parsePlanArgs(["show", "u", "--force"])).toThrow(/Unknown option --force/);
    expect(() => parsePlanArgs(["show", "u", "--project"])).toThrow(/--project needs an id/);
  });

  it("reads VOICE_PLANS from a dotenv file as the Functions runtime does", () => {
    const env = readDotenv('# c\nVOICE_PLANS={"pro":{"dailyMinutes":2}}\nX="quoted value"\n');
    expect(env).toEqual({ VOICE_PLANS: '{"pro":{"dailyMinutes":2}}', X: "quoted value" });
  });
});
