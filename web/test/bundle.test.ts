import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import {
  buildBundle,
  listFiles,
  localSecretValues,
  scanForDevOnlyPackages,
  scanForSecrets,
} from "../scripts/bundle-lib";

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
});

describe("scanForDevOnlyPackages", () => {
  it("recognizes the Agents SDK's own browser build", () => {
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
