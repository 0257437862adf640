/**
 * What `firebase deploy` uploads works on its own: lib/ loads where only functions/package.json's
 * dependencies are installed (as in Cloud Build), with the workspace's voice-contract bundled in,
 * and each trigger's bundle holds none of the other triggers' modules.
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BENCH_MODULE, buildFunctions, TRIGGER_MODULES, type BuiltBundles } from "../build.mjs";

const FUNCTIONS = join(__dirname, "..");
const ROOT_MODULES = join(FUNCTIONS, "..", "node_modules");

/** A directory like the deployed source: package.json, lib/, and only the declared dependencies. */
function deployedCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "functions-deploy-"));
  copyFileSync(join(FUNCTIONS, "package.json"), join(dir, "package.json"));
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  for (const name of Object.keys(manifest.dependencies)) {
    const link = join(dir, "node_modules", name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(realpathSync(join(ROOT_MODULES, name)), link, "dir");
  }
  return dir;
}

/** Loads lib/index.js in `dir` as an instance serving `target` would; what it exported and loaded. */
function load(dir: string, target: string | null) {
  const script = `
    const index = require("./lib/index.js");
    let contract = "resolvable";
    try { require.resolve("voice-contract"); } catch { contract = "missing"; }
    const loaded = Object.keys(require.cache)
      .filter((file) => file.startsWith(${JSON.stringify(join(realpathSync(dir), "lib"))}))
      .map((file) => file.slice(${realpathSync(dir).length + 5}))
      .sort();
    console.log(JSON.stringify({ exports: Object.keys(index).sort(), loaded, contract }));`;
  const env = { ...process.env };
  delete env.FUNCTION_TARGET;
  delete env.FUNCTIONS_EMULATOR;
  if (target !== null) env.FUNCTION_TARGET = target;
  const run = spawnSync(process.execPath, ["-e", script], { cwd: dir, env, encoding: "utf8" });
  expect(run.status, run.stderr).toBe(0);
  const last = run.stdout.trim().split("\n").at(-1) ?? "";
  return JSON.parse(last) as { exports: string[]; loaded: string[]; contract: string };
}

describe("the deployed build", () => {
  let dir: string;
  let bundles: BuiltBundles;

  beforeAll(async () => {
    dir = deployedCopy();
    bundles = await buildFunctions({ outDir: join(dir, "lib") });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is one bundle per trigger module and the index, without the bench baseline", () => {
    expect(Object.keys(bundles).sort()).toEqual(
      ["index.js", ...TRIGGER_MODULES.map((name) => `${name}.js`)].sort(),
    );
    expect(Object.keys(bundles)).not.toContain(`${BENCH_MODULE}.js`);
  });

  it("exports the five functions where voice-contract cannot be resolved", () => {
    expect(load(dir, null)).toEqual({
      exports: [
        "endRealtimeCall",
        "hangUpRealtimeCall",
        "operatorUsage",
        "realtimeCall",
        "realtimeToken",
      ],
      loaded: [
        "index.js",
        "hangupTask.js",
        "operatorUsage.js",
        "realtimeCall.js",
        "realtimeToken.js",
      ].sort(),
      contract: "missing",
    });
  }, 30_000);

  it("loads only the bundle of the function an instance serves", () => {
    expect(load(dir, "realtimeToken")).toMatchObject({
      exports: ["realtimeToken"],
      loaded: ["index.js", "realtimeToken.js"],
    });
    expect(load(dir, "endRealtimeCall")).toMatchObject({
      exports: ["endRealtimeCall", "realtimeCall"],
      loaded: ["index.js", "realtimeCall.js"],
    });
    expect(load(dir, "hangUpRealtimeCall")).toMatchObject({
      exports: ["hangUpRealtimeCall"],
      loaded: ["hangupTask.js", "index.js"],
    });
    expect(load(dir, "operatorUsage")).toMatchObject({
      exports: ["operatorUsage"],
      loaded: ["index.js", "operatorUsage.js"],
    });
  }, 30_000);

  it("bundles the contract into each trigger that uses it, and no trigger into another", () => {
    expect(bundles["index.js"]).toEqual(["src/index.ts"]);
    for (const name of TRIGGER_MODULES) {
      const inputs = bundles[`${name}.js`] ?? [];
      expect(inputs).toContain(`src/${name}.ts`);
      for (const other of TRIGGER_MODULES.filter((n) => n !== name)) {
        expect(inputs).not.toContain(`src/${other}.ts`);
      }
      expect(inputs.some((input) => input.includes("node_modules/firebase-"))).toBe(false);
    }
    expect(bundles["realtimeToken.js"]).toContain("../contract/src/choices.ts");
  });

  it("builds the bench baseline as its own bundle only when asked", async () => {
    const benchDir = mkdtempSync(join(tmpdir(), "functions-bench-"));
    try {
      const bench = await buildFunctions({ outDir: benchDir, bench: true });
      expect(bench[`${BENCH_MODULE}.js`]).toContain("bench/benchBaseline.ts");
      for (const name of TRIGGER_MODULES) {
        expect(bench[`${name}.js`]).not.toContain("bench/benchBaseline.ts");
      }
    } finally {
      rmSync(benchDir, { recursive: true, force: true });
    }
  }, 60_000);
});
