/**
 * Prints the size of the web app's JavaScript (raw and gzip) as JSON: in total, the initial
 * JS of each page (its entry chunk and static imports, which it loads before it runs: the
 * voice page's, and the operator page's) and the lazily loaded chunks. Fails if either
 * page's initial JS exceeds its budget, or if any file of the
 * bundle contains an OpenAI key or a value from functions/.secret.local, or any of OpenAI's
 * Agents SDK (a dev dependency of the end-to-end conformance suite only).
 *
 *   npm run bench:bundle -w web                  # builds (mode "emulator") into a temp dir
 *   npm run bench:bundle -w web -- --mode production
 *   npm run bench:bundle -w web -- --dist dist   # measures an existing build
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  buildBundle,
  INITIAL_JS_BUDGET_GZIP,
  localSecretValues,
  OPERATOR_JS_BUDGET_GZIP,
  measureBundle,
  scanForDevOnlyPackages,
  scanForSecrets,
} from "./bundle-lib";

const { values } = parseArgs({
  options: { dist: { type: "string" }, mode: { type: "string", default: "emulator" } },
});

const outDir = values.dist ? resolve(values.dist) : mkdtempSync(join(tmpdir(), "web-bundle-"));
try {
  const started = performance.now();
  if (!values.dist) await buildBundle({ outDir, mode: values.mode });
  const buildMs = values.dist ? null : Math.round(performance.now() - started);
  const size = measureBundle(outDir);
  const findings = scanForSecrets(outDir, [
    ...localSecretValues(),
    ...(process.env.OPENAI_API_KEY ? [process.env.OPENAI_API_KEY] : []),
  ]);
  // The Agents SDK is the conformance suite's dev dependency; the app must not bundle it.
  const devOnly = scanForDevOnlyPackages(outDir);
  const report = {
    source: values.dist ? outDir : `vite build --mode ${values.mode}`,
    buildMs,
    js: size.js,
    budget: {
      initialJsGzipMax: INITIAL_JS_BUDGET_GZIP,
      ok: size.js.initial.gzip <= INITIAL_JS_BUDGET_GZIP,
      operatorJsGzipMax: OPERATOR_JS_BUDGET_GZIP,
      operatorOk: size.js.operator.gzip <= OPERATOR_JS_BUDGET_GZIP,
    },
    css: size.css,
    html: size.html,
    secretScan: { ok: findings.length === 0, findings },
    devOnlyPackages: { ok: devOnly.length === 0, findings: devOnly },
  };
  console.log(JSON.stringify(report, null, 2));
  const overBudget =
    size.js.initial.gzip > INITIAL_JS_BUDGET_GZIP ||
    size.js.operator.gzip > OPERATOR_JS_BUDGET_GZIP;
  if (findings.length > 0 || devOnly.length > 0 || overBudget) process.exitCode = 1;
} finally {
  if (!values.dist) rmSync(outDir, { recursive: true, force: true });
}
