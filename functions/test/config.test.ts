/**
 * The committed .env files against the params in config.ts, read with the parser the CLI and the
 * emulator use. A param missing from .env would make the emulator write its default into
 * .env.local, which then silently overrides the test and bench projects' values.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { declaredParams } from "firebase-functions/params";
import { describe, expect, it } from "vitest";
import "../src/config";

const require = createRequire(__filename);
const { parseStrict } = require("firebase-tools/lib/functions/env") as {
  parseStrict: (data: string) => Record<string, string>;
};

function envFile(name: string): Record<string, string> {
  return parseStrict(readFileSync(join(__dirname, "..", name), "utf8"));
}

const params = declaredParams.filter((p) => p.constructor.name !== "SecretParam");

describe("functions/.env", () => {
  const env = envFile(".env");

  it("gives every param except ALLOWED_ORIGINS its default", () => {
    const expected = Object.fromEntries(
      params
        .filter((p) => p.name !== "ALLOWED_ORIGINS")
        .map((p) => [
          p.name,
          String((p as unknown as { options: { default?: unknown } }).options.default),
        ]),
    );
    expect(env).toEqual(expected);
  });

  it("leaves ALLOWED_ORIGINS to the deploy prompt, so a real project never inherits localhost", () => {
    expect(env).not.toHaveProperty("ALLOWED_ORIGINS");
    const origins = params.find((p) => p.name === "ALLOWED_ORIGINS") as unknown as {
      options: { default?: unknown };
    };
    expect(origins.options.default).toBeUndefined();
  });

  it.each([
    ".env.demo-realtime",
    ".env.demo-realtime-test",
    ".env.demo-realtime-bench",
    ".env.demo-realtime-e2e",
  ])("%s gives ALLOWED_ORIGINS as a JSON array of local origins", (name) => {
    const origins: unknown = JSON.parse(envFile(name).ALLOWED_ORIGINS ?? "null");
    expect(Array.isArray(origins)).toBe(true);
    for (const origin of origins as string[])
      expect(origin).toMatch(/^http:\/\/(localhost|127\.0\.0\.1):\d+$/);
  });
});
