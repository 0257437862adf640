/**
 * Builds `lib/`, what `firebase deploy` uploads: one CommonJS bundle per trigger module, so
 * that `index.js` still `require`s only the module of the function an instance serves.
 *
 * Each bundle carries the workspace packages it imports (`voice-contract` and its `valibot`):
 * deploy uploads `functions/` alone and Cloud Build installs only functions/package.json's
 * `dependencies`, which stay external (they are loaded from node_modules at run time).
 *
 *   tsx build.mts            # lib/ for deploy and the emulators
 *   FUNCTIONS_BUILD_BENCH=true tsx build.mts   # also lib/benchBaseline.js, for bench:mint only
 */
import { readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));

/** The modules `src/index.ts` requires, each its own bundle (`lib/<name>.js`). */
export const TRIGGER_MODULES = [
  "realtimeToken",
  "realtimeCall",
  "hangupTask",
  "operatorUsage",
] as const;

/** The emulator-only benchmark baseline (bench/benchBaseline.ts → lib/benchBaseline.js). */
export const BENCH_MODULE = "benchBaseline";

/** Options of {@link buildFunctions}. */
export interface BuildOptions {
  /** Where the bundles go; emptied first, so no file of an earlier build is deployed. */
  outDir?: string;
  /** Also build the benchmark baseline (never for a deploy). */
  bench?: boolean;
}

/** Each bundle written (`index.js`, …) with the source files it holds, relative to functions/. */
export type BuiltBundles = Record<string, string[]>;

/** Builds the bundles. */
export async function buildFunctions(options: BuildOptions = {}): Promise<BuiltBundles> {
  const outDir = options.outDir ?? join(HERE, "lib");
  rmSync(outDir, { recursive: true, force: true });
  const entryPoints: Record<string, string> = { index: join(HERE, "src", "index.ts") };
  for (const name of TRIGGER_MODULES) entryPoints[name] = join(HERE, "src", `${name}.ts`);
  if (options.bench) entryPoints[BENCH_MODULE] = join(HERE, "bench", `${BENCH_MODULE}.ts`);

  const result = await build({
    entryPoints,
    outdir: outDir,
    bundle: true,
    platform: "node",
    format: "cjs",
    // The emulators run the host's Node 20; the deploy runtime is Node 22.
    target: "node20",
    sourcemap: true,
    metafile: true,
    logLevel: "warning",
    plugins: [siblingBundles([...TRIGGER_MODULES, BENCH_MODULE]), installedDependencies()],
  });
  const bundles: BuiltBundles = {};
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (!file.endsWith(".js")) continue;
    bundles[relative(outDir, resolve(file))] = Object.keys(output.inputs).map((input) =>
      relative(HERE, resolve(input)),
    );
  }
  return bundles;
}

/**
 * index.ts's `require("./realtimeToken")` and the like load the sibling bundle at run time
 * (`./benchBaseline` exists only in a bench build, and index.ts requires it only then).
 */
function siblingBundles(names: readonly string[]): Plugin {
  const filter = new RegExp(`^\\./(?:${names.join("|")})$`);
  return {
    name: "sibling-bundles",
    setup(esbuild) {
      esbuild.onResolve({ filter }, (args) =>
        args.importer === join(HERE, "src", "index.ts") && args.kind === "require-call"
          ? { path: args.path, external: true }
          : undefined,
      );
    },
  };
}

/** Imports of functions/package.json's `dependencies` (and their subpaths) stay external. */
function installedDependencies(): Plugin {
  const manifest = JSON.parse(readFileSync(join(HERE, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  const installed = new Set(Object.keys(manifest.dependencies ?? {}));
  return {
    name: "installed-dependencies",
    setup(esbuild) {
      esbuild.onResolve({ filter: /^[^./]/ }, (args) => {
        const parts = args.path.split("/");
        const name = args.path.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
        return name !== undefined && installed.has(name)
          ? { path: args.path, external: true }
          : undefined;
      });
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bundles = await buildFunctions({ bench: process.env.FUNCTIONS_BUILD_BENCH === "true" });
  console.log(`functions: built ${Object.keys(bundles).join(", ")} in lib/`);
}
