/**
 * The region the Functions emulator serves the functions in. One source, the functions' own
 * REGION param: its value in the env files the emulator reads (functions/.env, then
 * .env.<project>, then .env.local, a later file winning, parsed by firebase-tools' own
 * parser), else the param's default in functions/src/config.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { REGION } from "../functions/src/config.js";

const FUNCTIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "functions");

/** firebase-tools' dotenv parser (what its emulator and deploy read the env files with). */
const { parse } = createRequire(import.meta.url)("firebase-tools/lib/functions/env.js") as {
  parse(data: string): { envs: Record<string, string> };
};

/** The env files the Functions emulator reads for `project`, lowest precedence first. */
export function emulatorEnvFiles(project: string): string[] {
  return [".env", `.env.${project}`, ".env.local"];
}

/**
 * The REGION param's value from env file contents (lowest precedence first; `undefined` for a
 * file that does not exist), else `fallback`.
 */
export function regionFrom(contents: readonly (string | undefined)[], fallback: string): string {
  let region = fallback;
  for (const text of contents) {
    const value = text === undefined ? undefined : parse(text).envs[REGION.name];
    if (value !== undefined) region = value;
  }
  return region;
}

/** The param's default, as functions/src/config.ts declares it. */
export function defaultRegion(): string {
  const value = REGION.options.default;
  if (typeof value !== "string") throw new Error("functions/src/config.ts: REGION has no default");
  return value;
}

/** The region the functions of `project` run in under the emulator. */
export function functionsRegion(project: string, functionsDir = FUNCTIONS_DIR): string {
  const contents = emulatorEnvFiles(project).map((name) => {
    const path = join(functionsDir, name);
    return existsSync(path) ? readFileSync(path, "utf8") : undefined;
  });
  return regionFrom(contents, defaultRegion());
}
