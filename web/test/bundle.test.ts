import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import {
  buildBundle,
  chunkFile,
  INITIAL_JS_BUDGET_GZIP,
  initialJsFiles,
  listFiles,
  loadJsFiles,
  measureBundle,
  localSecretValues,
  OPERATOR_JS_BUDGET_GZIP,
  reachableJsFiles,
  scanForDevOnlyPackages,
  scanForSecrets,
} from "../scripts/bundle-lib";
import { REAL_TIME } from "./timeouts";

// Canaries: a build that leaked server-side variables into the bundle would contain them.
const CANARY_KEY = "sk-canary-Zm9yLXRlc3RzLW9ubHktbm90LWEta2V5";
const CANARY_SECRET = "canary-secret-value-7f3a9c";
const PUBLIC_API_KEY = "AIza-placeholder-public-key-for-test";

const temp: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

describe("production bundle", () => {
  let outDir = "";
  const previousKey = process.env.OPENAI_API_KEY;

  beforeAll(async () => {
    const envDir = tempDir("web-env-");
    writeFileSync(
      join(envDir, ".env.production"),
      [
        `VITE_FIREBASE_API_KEY=${PUBLIC_API_KEY}`,
        "VITE_FIREBASE_PROJECT_ID=bundle-test",
        "VITE_FIREBASE_APP_ID=1:1:web:1",
        "VITE_RECAPTCHA_ENTERPRISE_SITE_KEY=site-key-placeholder",
        `OPENAI_API_KEY=${CANARY_KEY}`,
        `SERVER_ONLY_SECRET=${CANARY_SECRET}`,
      ].join("\n"),
    );
    process.env.OPENAI_API_KEY = CANARY_KEY;
    outDir = tempDir("web-dist-");
    try {
      await buildBundle({ outDir, mode: "production", envDir });
    } finally {
      if (previousKey === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = previousKey;
    }
  }, 120_000);

  it("is built from the public configuration", () => {
    const files = listFiles(outDir);
    expect(files.some((f) => f.endsWith(".js"))).toBe(true);
    // The scan below is only meaningful if it reads the real bundle: the public key is there.
    expect(scanForSecrets(outDir, [PUBLIC_API_KEY])).not.toEqual([]);
  });

  it("contains no sk- and no secret value", () => {
    const secrets = [CANARY_KEY, CANARY_SECRET, ...localSecretValues()];
    expect(scanForSecrets(outDir, secrets)).toEqual([]);
  });

  it("contains nothing of the Agents SDK, which only the conformance suite uses", () => {
    expect(scanForDevOnlyPackages(outDir)).toEqual([]);
  });

  it("keeps the initial JS within budget and the session code in a lazy chunk", () => {
    const { js } = measureBundle(outDir);
    expect(js.initial.files.length).toBeGreaterThan(0);
    expect(js.initial.gzip).toBeLessThanOrEqual(INITIAL_JS_BUDGET_GZIP);
    // The event channel's name is only used by the session: it must load after first paint.
    const holding = (files: { file: string }[]) =>
      files.filter((f) => readFileSync(join(outDir, f.file), "utf8").includes("oai-events"));
    expect(holding(js.initial.files)).toEqual([]);
    expect(holding(js.lazy.files)).toHaveLength(1);
  });

  it("loads the code of the call mode in use only, and the schemas, after the initial JS", () => {
    const initial = initialJsFiles(outDir);
    const secret = chunkFile(outDir, "src/app/secretMode.ts");
    const brokered = chunkFile(outDir, "src/app/brokeredMode.ts");
    expect(initial.has(secret)).toBe(false);
    expect(initial.has(brokered)).toBe(false);
    const atLoad = {
      secret: loadJsFiles(outDir, "secret"),
      brokered: loadJsFiles(outDir, "brokered"),
    };
    expect([atLoad.secret.has(secret), atLoad.secret.has(brokered)]).toEqual([true, false]);
    expect([atLoad.brokered.has(brokered), atLoad.brokered.has(secret)]).toEqual([true, false]);
    // valibot names itself in every schema (`vendor: "valibot"`): the checks at the boundary
    // load with the mode's code, so the first paint does not wait for them.
    const holding = (files: Set<string>) =>
      [...files].filter((f) =>
        readFileSync(join(outDir, f), "utf8").match(/vendor:\s*[`"']valibot/),
      );
    expect(holding(initial)).toEqual([]);
    expect(holding(atLoad.secret)).toHaveLength(1);
    expect(holding(atLoad.brokered)).toHaveLength(1);
  });

  it("builds the operator page within its budget, and only it can load the chart library", () => {
    const { js } = measureBundle(outDir);
    expect(js.operator.files.length).toBeGreaterThan(0);
    expect(js.operator.gzip).toBeLessThanOrEqual(OPERATOR_JS_BUDGET_GZIP);
    // uPlot names its plotting area's class in its code; nothing else of the app does.
    const holding = (files: Iterable<string>) =>
      [...files].filter((f) => readFileSync(join(outDir, f), "utf8").includes("u-over"));
    expect(holding(initialJsFiles(outDir, "operator"))).toHaveLength(1);
    expect(holding(reachableJsFiles(outDir, "voice"))).toEqual([]);
    expect(listFiles(outDir).some((f) => f.endsWith("operator.html"))).toBe(true);
  });

  it("loads the Functions SDK with the call mode, after the initial JS", () => {
    // Only the Functions SDK sends this header (a Messaging token, when the app has one).
    const holding = (files: Set<string>) =>
      [...files].filter((f) =>
        readFileSync(join(outDir, f), "utf8").includes("Firebase-Instance-ID-Token"),
      );
    expect(holding(initialJsFiles(outDir))).toEqual([]);
    expect(holding(loadJsFiles(outDir, "secret"))).toHaveLength(1);
    expect(holding(loadJsFiles(outDir, "brokered"))).toHaveLength(1);
  });
});

describe("scanForDevOnlyPackages", () => {
  it("recognizes the Agents SDK's own browser build", REAL_TIME, () => {
    const sdk = join(
      dirname(createRequire(import.meta.url).resolve("@openai/agents-realtime")),
      "bundle",
    );
    expect(scanForDevOnlyPackages(sdk).length).toBeGreaterThan(0);
  });
});

describe("production build without configuration", () => {
  it("fails and names the missing variables", async () => {
    const envDir = tempDir("web-env-empty-");
    const outDir = tempDir("web-dist-empty-");
    await expect(buildBundle({ outDir, mode: "production", envDir })).rejects.toThrow(
      /VITE_FIREBASE_API_KEY is missing[\s\S]*VITE_RECAPTCHA_ENTERPRISE_SITE_KEY is missing/,
    );
  }, 60_000);
});

/** A build directory that holds only `manifest` (Vite's `.vite/manifest.json`). */
function withManifest(manifest: object): string {
  const dir = tempDir("web-manifest-");
  mkdirSync(join(dir, ".vite"));
  writeFileSync(join(dir, ".vite", "manifest.json"), JSON.stringify(manifest));
  return dir;
}

describe("initialJsFiles", () => {
  it("follows the entries' static imports, not their dynamic ones", () => {
    const dir = withManifest({
      "index.html": {
        file: "assets/index.js",
        isEntry: true,
        imports: ["_shared.js"],
        dynamicImports: ["src/live.ts"],
      },
      "_shared.js": { file: "assets/shared.js", imports: ["_deep.js"] },
      "_deep.js": { file: "assets/deep.js" },
      "src/live.ts": { file: "assets/live.js", isDynamicEntry: true, imports: ["_shared.js"] },
    });
    expect([...initialJsFiles(dir)].sort()).toEqual([
      "assets/deep.js",
      "assets/index.js",
      "assets/shared.js",
    ]);
  });

  it("adds what a mode's page imports as it starts, with its static imports", () => {
    const dir = withManifest({
      "index.html": {
        file: "assets/index.js",
        isEntry: true,
        dynamicImports: ["src/app/live.ts", "src/app/secretMode.ts", "src/app/brokeredMode.ts"],
      },
      "src/app/live.ts": { file: "assets/live.js", imports: ["_schemas.js"] },
      "src/app/secretMode.ts": { file: "assets/secret.js", imports: ["_schemas.js"] },
      "src/app/brokeredMode.ts": { file: "assets/brokered.js", imports: ["index.html"] },
      "_schemas.js": { file: "assets/schemas.js" },
    });
    expect([...loadJsFiles(dir, "secret")].sort()).toEqual([
      "assets/index.js",
      "assets/live.js",
      "assets/schemas.js",
      "assets/secret.js",
    ]);
    expect([...loadJsFiles(dir, "brokered")].sort()).toEqual([
      "assets/brokered.js",
      "assets/index.js",
      "assets/live.js",
      "assets/schemas.js",
    ]);
    expect(chunkFile(dir, "src/app/secretMode.ts")).toBe("assets/secret.js");
    expect(() => chunkFile(dir, "src/app/gone.ts")).toThrow(/no chunk for src\/app\/gone\.ts/);
  });

  it("reads each page's own manifest; every chunk a page can reach, dynamic imports too", () => {
    const dir = withManifest({
      "index.html": { file: "assets/index.js", isEntry: true, dynamicImports: ["src/live.ts"] },
      "src/live.ts": { file: "assets/live.js", isDynamicEntry: true, imports: ["_deep.js"] },
      "_deep.js": { file: "assets/deep.js" },
    });
    writeFileSync(
      join(dir, ".vite", "operator-manifest.json"),
      JSON.stringify({
        "operator.html": { file: "assets/operator.js", isEntry: true, imports: ["_chart.js"] },
        "_chart.js": { file: "assets/chart.js" },
      }),
    );
    expect([...initialJsFiles(dir)]).toEqual(["assets/index.js"]);
    expect([...initialJsFiles(dir, "operator")].sort()).toEqual([
      "assets/chart.js",
      "assets/operator.js",
    ]);
    expect([...reachableJsFiles(dir, "voice")].sort()).toEqual([
      "assets/deep.js",
      "assets/index.js",
      "assets/live.js",
    ]);
  });

  it("says how to get a manifest when there is none", () => {
    expect(() => initialJsFiles(tempDir("web-no-manifest-"))).toThrow(/build\.manifest/);
  });
});

describe("scanForSecrets", () => {
  it("flags sk- keys, given secrets and source maps, but not words ending in sk", () => {
    const dir = tempDir("web-scan-");
    writeFileSync(join(dir, "a.js"), 'const k="sk-proj-abc123";');
    writeFileSync(join(dir, "b.js"), 'const q="task-queue"; const s="hunter22-secret";');
    writeFileSync(join(dir, "c.js.map"), "{}");
    expect(scanForSecrets(dir, ["hunter22-secret"])).toEqual([
      'a.js: contains "sk-"',
      "b.js: contains secret #1",
      "c.js.map: a source map is published",
    ]);
  });
});
