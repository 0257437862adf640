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

/** Builds the app with `vite.config.ts` into `outDir`. */
export async function buildBundle(options: {
  outDir: string;
  mode: string;
  envDir?: string;
}): Promise<void> {
  await build({
    configFile: join(webRoot, "vite.config.ts"),
    mode: options.mode,
    logLevel: "warn",
    ...(options.envDir ? { envDir: options.envDir } : {}),
    build: { outDir: options.outDir, emptyOutDir: true },
  });
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

/** The initial JS must stay within this many bytes gzip (issue 12's budget). */
export const INITIAL_JS_BUDGET_GZIP = 52_000;

/** One chunk in Vite's `.vite/manifest.json` (the fields read here). */
interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
}

type Manifest = Record<string, ManifestChunk>;

function readManifest(dir: string): Manifest {
  const path = join(dir, ".vite", "manifest.json");
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: build with build.manifest: true (vite.config.ts sets it).`,
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
 * The JS files a page load fetches before anything runs: each entry chunk and, transitively,
 * its static `imports`, per Vite's manifest (`build.manifest`). Dynamic imports are not
 * followed: those chunks load later. Paths are relative to `dir`.
 */
export function initialJsFiles(dir: string): Set<string> {
  const manifest = readManifest(dir);
  const files = new Set<string>();
  for (const [key, chunk] of Object.entries(manifest)) {
    if (chunk.isEntry) addWithStaticImports(manifest, key, files);
  }
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
 * into `initial` (see {@link initialJsFiles}) and `lazy` (every other chunk), and what a page
 * in each call mode fetches at load (`atLoad`, see {@link loadJsFiles}).
 */
export function measureBundle(dir: string): {
  js: Size & {
    initial: Size & { files: FileSize[] };
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
  const initial = js.filter((f) => initialFiles.has(f.file));
  const lazy = js.filter((f) => !initialFiles.has(f.file));
  const atLoad = (mode: CallModeName) => {
    const files = loadJsFiles(dir, mode);
    return sum(js.filter((f) => files.has(f.file)));
  };
  return {
    js: {
      ...sum(js),
      initial: { ...sum(initial), files: initial },
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
