/**
 * Clients for the integration suite: the Firebase JS SDK, set up as the web app sets it up
 * under the local stack, plus the OpenAI stand-in's test endpoints.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type FirebaseApp, initializeApp } from "firebase/app";
import { CustomProvider, initializeAppCheck } from "firebase/app-check";
import {
  connectAuthEmulator,
  getAuth,
  signInAnonymously,
  signInWithCustomToken,
} from "firebase/auth";
import {
  connectFunctionsEmulator,
  type Functions,
  type FunctionsError,
  getFunctions,
  httpsCallable,
} from "firebase/functions";
import type { RealtimeTokenRequest, RealtimeTokenResponse } from "voice-contract";

const FIREBASE_JSON = JSON.parse(
  readFileSync(join(__dirname, "..", "..", "firebase.json"), "utf8"),
) as {
  emulators: Record<string, { port: number }>;
};
export const PROJECT_ID = process.env.GCLOUD_PROJECT ?? "demo-realtime-test";
export const STANDIN_URL = requireEnv("STANDIN_URL");
/** The region the emulator serves the functions in, as the stack read it from `REGION`. */
export const REGION = requireEnv("STACK_FUNCTIONS_REGION");

/** The URL of the callable `name` on the Functions emulator. */
export function functionUrl(name: string): string {
  const port = FIREBASE_JSON.emulators.functions?.port ?? 5001;
  return `http://127.0.0.1:${port}/${PROJECT_ID}/${REGION}/${name}`;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run this suite through \`npm run test:integration\``);
  return value;
}

export interface Client {
  app: FirebaseApp;
  uid: string | null;
  /** The app's Functions instance, connected to the emulator, for other callables. */
  functions: Functions;
  call(data?: unknown): Promise<RealtimeTokenResponse>;
}

/**
 * A fresh Firebase app instance: its own user, optionally without App Check, signed in with a
 * custom token instead of anonymously, or calling from a public address (as Google's front end
 * would append it to `X-Forwarded-For`).
 */
export async function newClient(
  options: {
    signIn?: boolean;
    appCheck?: boolean;
    customToken?: string;
    forwardedFor?: string;
  } = {},
): Promise<Client> {
  const app = initializeApp(
    { apiKey: "demo-api-key", projectId: PROJECT_ID, appId: "1:000000000000:web:0000" },
    `client-${randomUUID()}`,
  );
  if (options.appCheck !== false) {
    // The real providers need Google; the emulator decodes any token without verifying it.
    initializeAppCheck(app, {
      provider: new CustomProvider({
        getToken: async () => ({
          token: `local-${randomUUID()}`,
          expireTimeMillis: Date.now() + 3_600_000,
        }),
      }),
      isTokenAutoRefreshEnabled: false,
    });
  }
  const auth = getAuth(app);
  connectAuthEmulator(auth, `http://127.0.0.1:${FIREBASE_JSON.emulators.auth?.port}`, {
    disableWarnings: true,
  });
  let uid: string | null = null;
  if (options.customToken !== undefined) {
    uid = (await signInWithCustomToken(auth, options.customToken)).user.uid;
  } else if (options.signIn !== false) {
    uid = (await signInAnonymously(auth)).user.uid;
  }
  const functions = getFunctions(app, REGION);
  const forwardedFor = options.forwardedFor;
  if (forwardedFor !== undefined) {
    // The SDK's own fetch seam: the same request, with the header a front end adds.
    const withAddress: typeof fetch = (input, init) =>
      fetch(input, {
        ...init,
        headers: { ...(init?.headers as Record<string, string>), "x-forwarded-for": forwardedFor },
      });
    (functions as unknown as { fetchImpl: typeof fetch }).fetchImpl = withAddress;
  }
  connectFunctionsEmulator(functions, "127.0.0.1", FIREBASE_JSON.emulators.functions?.port ?? 5001);
  const callable = httpsCallable<RealtimeTokenRequest | unknown, RealtimeTokenResponse>(
    functions,
    "realtimeToken",
    { limitedUseAppCheckTokens: true },
  );
  return { app, uid, functions, call: async (data?: unknown) => (await callable(data)).data };
}

/** The error a call failed with; fails the test if it succeeded. */
export async function callError(promise: Promise<unknown>): Promise<FunctionsError> {
  try {
    await promise;
  } catch (error) {
    return error as FunctionsError;
  }
  throw new Error("expected the call to fail");
}

export interface StandinCall {
  id: string;
  session: Record<string, unknown>;
  startedAt: number;
  endedAt: number | null;
  endedReason: string | null;
  safetyIdentifier: string | null;
}

export interface StandinState {
  secrets: { value: string; expiresAt: number; session: Record<string, unknown> }[];
  calls: StandinCall[];
  requests: { clientSecrets: number; calls: number };
}

export async function standinState(): Promise<StandinState> {
  const response = await fetch(`${STANDIN_URL}/_standin/state`);
  if (!response.ok) throw new Error(`stand-in state: ${response.status} ${await response.text()}`);
  return (await response.json()) as StandinState;
}

/** Makes the stand-in's next answers on `route` (default client_secrets) fail in the given way. */
export async function injectFault(
  fault:
    | { kind: "status"; status: number; code?: string; param?: string }
    | { kind: "hang" }
    | { kind: "garbage"; body?: string }
    | { kind: "delay"; ms: number },
  count = 1,
  route:
    "client_secrets" | "calls" | "hangup" | "live_sessions" | "live_sideband" = "client_secrets",
) {
  const response = await fetch(`${STANDIN_URL}/_standin/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ route, count, ...fault }),
  });
  if (!response.ok) throw new Error(`stand-in faults: ${response.status} ${await response.text()}`);
}

export async function clearFaults(): Promise<void> {
  const response = await fetch(`${STANDIN_URL}/_standin/faults`, { method: "DELETE" });
  if (!response.ok) throw new Error(`stand-in faults: ${response.status}`);
}

/** What the fault proxy between the functions and Firestore does with traffic. */
export type FirestoreFault =
  { mode: "pass" } | { mode: "refuse" } | { mode: "hang" } | { mode: "cut"; bytes: number };

/** Sets the Firestore fault proxy's mode (`npm run test:integration` starts it). */
export async function firestoreFault(fault: FirestoreFault): Promise<void> {
  const url = requireEnv("FIRESTORE_FAULTS_URL");
  const response = await fetch(`${url}/mode`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(fault),
  });
  if (!response.ok) throw new Error(`fault proxy: ${response.status} ${await response.text()}`);
}

/** Sets the fault proxy between the functions and the Cloud Tasks emulator (`--tasks-faults`). */
export async function tasksFault(fault: FirestoreFault): Promise<void> {
  const url = requireEnv("TASKS_FAULTS_URL");
  const response = await fetch(`${url}/mode`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(fault),
  });
  if (!response.ok)
    throw new Error(`tasks fault proxy: ${response.status} ${await response.text()}`);
}
