/**
 * Per-run directories for the suites that start the stack, so that two checkouts testing on
 * one machine share no file with a fixed name: the emulator hub's locator
 * (`$TMPDIR/hub-<project>.json`), tsx's transform cache (`$TMPDIR/tsx-<uid>`), the Functions
 * emulator's worker sockets, and what firebase-tools (configstore, update-notifier) and
 * Chromium (pulse, dconf) write under `$XDG_CONFIG_HOME` and `$XDG_CACHE_HOME`. firebase-tools'
 * emulator downloads stay shared: they live in `~/.cache/firebase/emulators` (HOME, not XDG),
 * and are only read while the suites run.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Set by {@link privateDirs} in the environment it returns, so nested wrappers reuse it. */
export const PRIVATE_DIRS_VAR = "STACK_PRIVATE_DIRS";

export interface PrivateDirs {
  /** The variables to add to the command's environment (none when already inside one). */
  env: NodeJS.ProcessEnv;
  /** Deletes the directories this call made; idempotent, a no-op when it made none. */
  remove: () => void;
}

/** Makes the directories, unless `env` shows a wrapper further out already did. */
export function privateDirs(env: NodeJS.ProcessEnv = process.env): PrivateDirs {
  if (env[PRIVATE_DIRS_VAR] !== undefined) return { env: {}, remove: () => undefined };
  const root = mkdtempSync(join(tmpdir(), "stack-run-"));
  const dirs = { TMPDIR: "tmp", XDG_CONFIG_HOME: "config", XDG_CACHE_HOME: "cache" } as const;
  const added: NodeJS.ProcessEnv = { [PRIVATE_DIRS_VAR]: root };
  for (const [name, sub] of Object.entries(dirs)) {
    mkdirSync(join(root, sub));
    added[name] = join(root, sub);
  }
  let removed = false;
  return {
    env: added,
    remove: () => {
      if (removed) return;
      removed = true;
      rmSync(root, { recursive: true, force: true });
    },
  };
}
