/*
 * Shared by `bench-bundle.ts` and the bundle test: build the app into a directory, measure
 * it, and scan it for secrets.
 */
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "vite";

export const webRoot = fileURLToPath(new URL("..", import.meta.url));

/**
 * Builds the app into `outDir` as `npm run build` does: the voice page (`vite.config.ts`), then
 * the operator page (`vite.operator.config.ts`) beside it.
 */
export async function buildBundle(options: {
  outDir: string;
  mode: string;
  envDir?: string;
}): Promise<void> {
  for (const [configFile, emptyOutDir] of [
    ["vite.config.ts", true],
    ["vite.operator.config.ts", false],
  ] as const) {
    await build({
      configFile: join(webRoot, configFile),
      mode: options.mode,
      logLevel: "warn",
      ...(options.envDir ? { envDir: options.envDir } : {}),
      build: { outDir: options.outDir, emptyOutDir },
    });
  }
}

export function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

interface Size {
  raw: number;
  gzip: number;
}

type FileSize = Size & { file: string };

/** The voice page's initial JS must stay within this many bytes gzip (issue 12's budget). */
export const INITIAL_JS_BUDGET_GZIP = 52_000;

/**
 * The operator page's initial JS (Firebase, the Functions SDK and the chart library; issue 22),
 * in bytes gzip: measured 61.5 kB when it came, with room for the libraries' updates.
 */
export const OPERATOR_JS_BUDGET_GZIP = 70_000;

/** One chunk in Vite's `.vite/manifest.json` (the fields read here). */
interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
}

type Manifest = Record<string, ManifestChunk>;

/** Each page's Vite manifest, in `dir/.vite/`: the two pages are two builds. */
const MANIFESTS = { voice: "manifest.json", operator: "operator-manifest.json" } as const;

function readManifest(dir: string, page: PageName = "voice"): Manifest {
  const path = join(dir, ".vite", MANIFESTS[page]);
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: build with build.manifest set (vite.config.ts and vite.operator.config.ts set it).`,
    );
  }
  return JSON.parse(readFileSync(path, "utf8")) as Manifest;
}

/** Adds the chunk of `key` and, transitively, its static `imports` to `files`. */
function addWithStaticImports(manifest: Manifest, key: string, files: Set<string>): void {
  const chunk = manifest[key];
  if (!chunk || files.has(chunk.file)) return;
  files.add(chunk.file);
  for (const imported of chunk.imports ?? []) addWithStaticImports(manifest, imported, files);
}

/**
 * The app's pages by their entry's manifest key: the voice page (vite.config.ts), and the
 * operator's usage page with its chart library (vite.operator.config.ts).
 */
export const PAGES = { voice: "index.html", operator: "operator.html" } as const;

export type PageName = keyof typeof PAGES;

/**
 * The JS files a load of `page` fetches before anything runs: its entry chunk and,
 * transitively, its static `imports`, per Vite's manifest (`build.manifest`). Dynamic imports
 * are not followed: those chunks load later. Paths are relative to `dir`.
 */
export function initialJsFiles(dir: string, page: PageName = "voice"): Set<string> {
  const manifest = readManifest(dir, page);
  const key = PAGES[page];
  if (!manifest[key]?.isEntry) throw new Error(`The build has no entry for ${key}.`);
  const files = new Set<string>();
  addWithStaticImports(manifest, key, files);
  return files;
}

/**
 * Every JS file a load of `page` can ever fetch: its {@link initialJsFiles} and, transitively,
 * every chunk they import, statically or dynamically.
 */
export function reachableJsFiles(dir: string, page: PageName = "voice"): Set<string> {
  const manifest = readManifest(dir, page);
  const files = new Set<string>();
  const visit = (key: string) => {
    const chunk = manifest[key];
    if (!chunk || files.has(chunk.file)) return;
    files.add(chunk.file);
    for (const next of [...(chunk.imports ?? []), ...(chunk.dynamicImports ?? [])]) visit(next);
  };
  visit(PAGES[page]);
  return files;
}

/**
 * What the page imports as soon as it runs, in each call mode (main.ts `loadMode`,
 * CallController.start): the mode's code and the session code. Neither is needed to paint
 * or to take a click (Connect awaits them), so neither counts as initial.
 */
export const LOADED_AT_START = {
  secret: ["src/app/secretMode.ts", "src/app/live.ts"],
  brokered: ["src/app/brokeredMode.ts", "src/app/live.ts"],
} as const;

export type CallModeName = keyof typeof LOADED_AT_START;

/** The output file of the chunk of `key` (a source path such as `src/app/live.ts`). */
export function chunkFile(dir: string, key: string): string {
  const chunk = readManifest(dir)[key];
  if (!chunk) throw new Error(`The build has no chunk for ${key}.`);
  return chunk.file;
}

/**
 * The JS files a page in `mode` fetches at load: the {@link initialJsFiles}, then the chunks
 * it imports at once ({@link LOADED_AT_START}) with their static imports.
 */
export function loadJsFiles(dir: string, mode: CallModeName): Set<string> {
  const manifest = readManifest(dir);
  const files = initialJsFiles(dir);
  for (const key of LOADED_AT_START[mode]) {
    if (!manifest[key]) throw new Error(`The build has no chunk for ${key}.`);
    addWithStaticImports(manifest, key, files);
  }
  return files;
}

/**
 * Raw and gzip (level 9) sizes of the JS and CSS, per file and in total; the JS also split
 * into the voice page's `initial` (see {@link initialJsFiles}), the operator page's
 * (`operator`) and `lazy` (every chunk neither page loads initially), and what a voice page in
 * each call mode fetches at load (`atLoad`, see {@link loadJsFiles}).
 */
export function measureBundle(dir: string): {
  js: Size & {
    initial: Size & { files: FileSize[] };
    operator: Size & { files: FileSize[] };
    lazy: Size & { files: FileSize[] };
    atLoad: Record<CallModeName, Size>;
  };
  css: Size;
  html: Size;
} {
  const sizeOf = (path: string): Size => {
    const bytes = readFileSync(path);
    return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  };
  const sum = (sizes: Size[]): Size =>
    sizes.reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip }), { raw: 0, gzip: 0 });
  const files = listFiles(dir);
  const initialFiles = initialJsFiles(dir);
  const js = files
    .filter((f) => f.endsWith(".js"))
    .map((f) => ({ file: relative(dir, f).split(sep).join("/"), ...sizeOf(f) }));
  const operatorFiles = initialJsFiles(dir, "operator");
  const initial = js.filter((f) => initialFiles.has(f.file));
  const operator = js.filter((f) => operatorFiles.has(f.file));
  const lazy = js.filter((f) => !initialFiles.has(f.file) && !operatorFiles.has(f.file));
  const atLoad = (mode: CallModeName) => {
    const files = loadJsFiles(dir, mode);
    return sum(js.filter((f) => files.has(f.file)));
  };
  return {
    js: {
      ...sum(js),
      initial: { ...sum(initial), files: initial },
      operator: { ...sum(operator), files: operator },
      lazy: { ...sum(lazy), files: lazy },
      atLoad: { secret: atLoad("secret"), brokered: atLoad("brokered") },
    },
    css: sum(files.filter((f) => f.endsWith(".css")).map(sizeOf)),
    html: sum(files.filter((f) => f.endsWith(".html")).map(sizeOf)),
  };
}

/** Values from the functions' local secret file, which must never reach the browser. */
export function localSecretValues(): string[] {
  const path = join(webRoot, "..", "functions", ".secret.local");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#") && line.includes("="))
    .map((line) =>
      line
        .slice(line.indexOf("=") + 1)
        .trim()
        .replace(/^["']|["']$/g, ""),
    )
    .filter((value) => value.length >= 8);
}

/** An OpenAI standard key at a token boundary (`task-…` does not count). */
const OPENAI_KEY_PATTERN = /(?<![A-Za-z0-9])sk-/;

/**
 * Files in `dir` that contain `sk-` (an OpenAI standard key prefix) or any of `secrets`.
 * Findings name the file and what matched, never the secret's value.
 */
export function scanForSecrets(dir: string, secrets: readonly string[]): string[] {
  const findings: string[] = [];
  for (const file of listFiles(dir)) {
    const text = readFileSync(file, "utf8");
    const name = relative(dir, file);
    if (OPENAI_KEY_PATTERN.test(text)) findings.push(`${name}: contains "sk-"`);
    secrets.forEach((secret, index) => {
      if (text.includes(secret)) findings.push(`${name}: contains secret #${index + 1}`);
    });
    if (file.endsWith(".map")) findings.push(`${name}: a source map is published`);
  }
  return findings;
}

/**
 * Strings only OpenAI's Agents SDK (`@openai/agents-realtime`, `@openai/agents-core`) carries:
 * its request header and the name it logs under. The SDK is a dev dependency of the
 * end-to-end conformance suite only; the web app must never bundle it.
 */
export const DEV_ONLY_MARKERS = ["X-OpenAI-Agents-SDK", "openai-agents-sdk.", "openai-agents:"];

/** Files in `dir` that contain a {@link DEV_ONLY_MARKERS} string, and which. */
export function scanForDevOnlyPackages(dir: string): string[] {
  const findings: string[] = [];
  for (const file of listFiles(dir)) {
    const text = readFileSync(file, "utf8");
    for (const marker of DEV_ONLY_MARKERS)
      if (text.includes(marker)) findings.push(`${relative(dir, file)}: contains "${marker}"`);
  }
  return findings;
}
