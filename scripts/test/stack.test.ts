/**
 * `npm start` as a user runs it: ready means every service answers (the function's first
 * call works the moment the banner appears); a supervisor killed with SIGKILL takes its
 * children with it, so the next `npm start` starts; a port held by a leftover is named with
 * its PID and how to stop it. Starts servers on the stack's fixed ports: run it through
 * `npm run test:stack`, which gives it a network namespace of its own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { deleteApp, initializeApp } from "firebase/app";
import { CustomProvider, initializeAppCheck } from "firebase/app-check";
import { connectAuthEmulator, getAuth, signInAnonymously } from "firebase/auth";
import { connectFunctionsEmulator, getFunctions, httpsCallable } from "firebase/functions";
import { afterEach, describe, expect, it } from "vitest";
import type { RealtimeTokenResponse } from "voice-contract";
import { functionsRegion } from "../functions-region.js";

const ROOT = join(import.meta.dirname, "..", "..");
const EMULATORS = (
  JSON.parse(readFileSync(join(ROOT, "firebase.json"), "utf8")) as {
    emulators: Record<string, { port?: number }>;
  }
).emulators;
const PORTS = [
  EMULATORS.auth?.port,
  EMULATORS.functions?.port,
  EMULATORS.firestore?.port,
  EMULATORS.hub?.port,
  EMULATORS.logging?.port,
  8790, // the OpenAI stand-in
  5173, // the web dev server
].filter((p): p is number => p !== undefined);

interface Stack {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the time the ready banner appeared. */
  ready: Promise<number>;
  exited: Promise<number | null>;
}

const started: Stack[] = [];

function startStack(...args: string[]): Stack {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/stack.ts", "start", ...args], {
    cwd: ROOT,
    env: { ...process.env, FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const ready = new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("[stack] ready.")) resolve(Date.now());
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) =>
      reject(new Error(`stack exited (${code}) before ready:\n${text}`)),
    );
  });
  ready.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const stack = { child, output: () => text, ready, exited };
  started.push(stack);
  return stack;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A first call through the Firebase JS SDK, as the web app makes it (project demo-realtime). */
async function firstCall(
  project = "demo-realtime",
  region = functionsRegion(project),
): Promise<RealtimeTokenResponse> {
  const app = initializeApp(
    { apiKey: "demo-api-key", projectId: project, appId: "1:000000000000:web:0000" },
    `stack-${randomUUID()}`,
  );
  try {
    initializeAppCheck(app, {
      provider: new CustomProvider({
        getToken: async () => ({
          token: `local-${randomUUID()}`,
          expireTimeMillis: Date.now() + 3_600_000,
        }),
      }),
      isTokenAutoRefreshEnabled: false,
    });
    const auth = getAuth(app);
    connectAuthEmulator(auth, `http://127.0.0.1:${EMULATORS.auth?.port}`, {
      disableWarnings: true,
    });
    await signInAnonymously(auth);
    const functions = getFunctions(app, region);
    connectFunctionsEmulator(functions, "127.0.0.1", EMULATORS.functions?.port ?? 5001);
    const call = httpsCallable<unknown, RealtimeTokenResponse>(functions, "realtimeToken", {
      limitedUseAppCheckTokens: true,
      timeout: 10_000,
    });
    return (await call({})).data;
  } finally {
    await deleteApp(app);
  }
}

afterEach(async () => {
  for (const stack of started.splice(0)) {
    if (stack.child.exitCode === null && stack.child.signalCode === null) {
      stack.child.kill("SIGINT");
      await stack.exited;
    }
  }
  await until(async () => (await Promise.all(PORTS.map(portFree))).every(Boolean), 30_000);
});

describe("npm start", () => {
  it("is ready only when the function answers, and a hard-killed supervisor leaves nothing behind", async () => {
    const first = startStack();
    await first.ready;
    // The moment the banner appears, a real first call mints (through the stand-in).
    const minted = await firstCall();
    expect(minted.token).toMatch(/^ek_/);
    const web = await fetch("http://127.0.0.1:5173/");
    expect(web.status).toBe(200);

    first.child.kill("SIGKILL");
    await first.exited;
    const killedAt = Date.now();
    // Every child goes with it: the guards see their stdin pipe close.
    await until(async () => (await Promise.all(PORTS.map(portFree))).every(Boolean), 15_000);
    expect(Date.now() - killedAt).toBeLessThan(15_000);

    const second = startStack();
    await second.ready;
    expect(second.output()).not.toMatch(/is in use/);
    expect((await firstCall()).token).toMatch(/^ek_/);

    second.child.kill("SIGINT");
    expect(await second.exited).toBe(130);
  });

  it("names the PID holding a port and how to stop it", async () => {
    const authPort = EMULATORS.auth?.port ?? 9099;
    const holder = spawn(
      process.execPath,
      ["-e", `require("net").createServer().listen(${authPort}, "127.0.0.1")`],
      { stdio: "ignore" },
    );
    try {
      await until(async () => !(await portFree(authPort)), 10_000);
      const stack = startStack();
      expect(await stack.exited).toBe(1);
      expect(stack.output()).toContain(
        `port ${authPort} (Auth emulator) is in use by PID ${holder.pid}`,
      );
      expect(stack.output()).toContain(`kill ${holder.pid}`);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("serves, awaits and names the function in the region the functions' env files give", async () => {
    // A project of its own whose env file moves the functions out of the param's default.
    const project = "demo-stack-region";
    const envFile = join(ROOT, "functions", `.env.${project}`);
    writeFileSync(envFile, 'REGION=europe-west1\nALLOWED_ORIGINS=["http://127.0.0.1:5173"]\n');
    try {
      expect(functionsRegion(project)).toBe("europe-west1");
      const stack = startStack("--project", project);
      await stack.ready;
      expect(stack.output()).toContain(
        `function   http://127.0.0.1:${EMULATORS.functions?.port}/${project}/europe-west1/realtimeToken`,
      );
      expect((await firstCall(project, "europe-west1")).token).toMatch(/^ek_/);
    } finally {
      rmSync(envFile, { force: true });
    }
  });
});
