/** Which region the local stack expects the functions in: the REGION param's own sources. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REGION } from "../../functions/src/config.js";
import {
  defaultRegion,
  emulatorEnvFiles,
  functionsRegion,
  regionFrom,
} from "../functions-region.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function functionsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "functions-region-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("functionsRegion", () => {
  it("falls back to the REGION param's default in functions/src/config.ts", () => {
    expect(defaultRegion()).toBe(REGION.options.default);
    expect(functionsRegion("demo-x", functionsDir({}))).toBe(defaultRegion());
    expect(regionFrom([undefined, "OTHER=1\n"], "fallback-1")).toBe("fallback-1");
  });

  it("reads the env files in the emulator's order, a later one winning", () => {
    expect(emulatorEnvFiles("demo-x")).toEqual([".env", ".env.demo-x", ".env.local"]);
    const dir = functionsDir({
      ".env": "# every param\nREGION=us-east1\nMAX_INSTANCES=10\n",
      ".env.demo-x": 'REGION="europe-west1" # this project\n',
    });
    expect(functionsRegion("demo-x", dir)).toBe("europe-west1");
    expect(functionsRegion("demo-y", dir)).toBe("us-east1");
    writeFileSync(join(dir, ".env.local"), "REGION='asia-east1'\n");
    expect(functionsRegion("demo-x", dir)).toBe("asia-east1");
  });

  it("takes the value as firebase-tools parses it: export, spaces and quotes", () => {
    expect(regionFrom(["export REGION = europe-north1\n"], "x")).toBe("europe-north1");
    expect(regionFrom(['REGION="us-west2"\r\n'], "x")).toBe("us-west2");
    expect(regionFrom(["#REGION=commented-out\n"], "x")).toBe("x");
  });
});
