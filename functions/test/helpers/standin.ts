/**
 * The OpenAI stand-in (standin/), started in-process for unit tests that need a real upstream.
 * Loaded by path at run time: it is an ES module outside this package's TypeScript project, so
 * only the small surface used here is typed.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { HOOK_MS } from "./timeouts";

export interface RunningStandin {
  url: string;
  baseUrl: string;
  close(): Promise<void>;
}

/** A call as `GET /_standin/state` lists it (the fields these tests read). */
export interface StandinCall {
  id: string;
  state: "connecting" | "connected" | "ended";
  session: Record<string, unknown>;
  endedReason: string | null;
  startedAt: number;
  endedAt: number | null;
  safetyIdentifier: string | null;
}

export interface StandinState {
  calls: StandinCall[];
  requests: { clientSecrets: number; calls: number };
}

export async function startStandin(
  options: { maxCallSeconds?: number; idleCallSeconds?: number } = {},
): Promise<RunningStandin> {
  const modulePath = pathToFileURL(
    join(__dirname, "..", "..", "..", "standin", "src", "server.ts"),
  );
  const { startStandin: start } = (await import(modulePath.href)) as {
    startStandin(options: object): Promise<RunningStandin>;
  };
  return start(options);
}

export async function standinState(standin: RunningStandin): Promise<StandinState> {
  return (await (await fetch(`${standin.url}/_standin/state`)).json()) as StandinState;
}

/** Queues a fault on the stand-in (see standin/README.md). */
export async function addFault(standin: RunningStandin, fault: object): Promise<void> {
  const response = await fetch(`${standin.url}/_standin/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(fault),
  });
  if (response.status !== 200) throw new Error(`fault refused: ${await response.text()}`);
}

export async function resetStandin(standin: RunningStandin): Promise<void> {
  await fetch(`${standin.url}/_standin/reset`, { method: "POST" });
}

/**
 * A stand-in for the enclosing `describe`: started before its tests, reset before each and
 * closed after them. The getter returns it once the tests run.
 */
export function useStandin(
  options: { maxCallSeconds?: number; idleCallSeconds?: number } = {},
): () => RunningStandin {
  let standin: RunningStandin | undefined;
  beforeAll(async () => {
    standin = await startStandin(options);
  }, HOOK_MS);
  beforeEach(async () => {
    if (standin) await resetStandin(standin);
  }, HOOK_MS);
  afterAll(async () => {
    await standin?.close();
  }, HOOK_MS);
  return () => {
    if (!standin) throw new Error("the stand-in is not running (useStandin outside describe?)");
    return standin;
  };
}
