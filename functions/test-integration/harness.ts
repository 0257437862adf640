/**
 * Clients for the integration suite: the Firebase JS SDK, set up as the web app sets it up
 * under the local stack, plus the OpenAI stand-in's test endpoints.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type FirebaseApp, initializeApp } from "firebase/app";
import { CustomProvider, initializeAppCheck } from "firebase/app-check";
import { connectAuthEmulator, getAuth, signInAnonymously } from "firebase/auth";
import {
  connectFunctionsEmulator,
  type FunctionsError,
  getFunctions,
  httpsCallable,
} from "firebase/functions";
import type { RealtimeTokenRequest, RealtimeTokenResponse } from "../src/contract";

const FIREBASE_JSON = JSON.parse(
  readFileSync(join(__dirname, "..", "..", "firebase.json"), "utf8"),
) as {
  emulators: Record<string, { port: number }>;
};
export const PROJECT_ID = process.env.GCLOUD_PROJECT ?? "demo-realtime-test";
export const STANDIN_URL = requireEnv("STANDIN_URL");

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run this suite through \`npm run test:integration\``);
  return value;
}

export interface Client {
  app: FirebaseApp;
  uid: string | null;
  call(data?: unknown): Promise<RealtimeTokenResponse>;
}

/** A fresh Firebase app instance: its own user, optionally without App Check. */
export async function newClient(
  options: { signIn?: boolean; appCheck?: boolean } = {},
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
  if (options.signIn !== false) uid = (await signInAnonymously(auth)).user.uid;
  const functions = getFunctions(app, "us-central1");
  connectFunctionsEmulator(functions, "127.0.0.1", FIREBASE_JSON.emulators.functions?.port ?? 5001);
  const callable = httpsCallable<RealtimeTokenRequest | unknown, RealtimeTokenResponse>(
    functions,
    "realtimeToken",
    { limitedUseAppCheckTokens: true },
  );
  return { app, uid, call: async (data?: unknown) => (await callable(data)).data };
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

export interface StandinState {
  secrets: { value: string; expiresAt: number; session: Record<string, unknown> }[];
  requests: { clientSecrets: number; calls: number };
}

export async function standinState(): Promise<StandinState> {
  const response = await fetch(`${STANDIN_URL}/_standin/state`);
  if (!response.ok) throw new Error(`stand-in state: ${response.status} ${await response.text()}`);
  return (await response.json()) as StandinState;
}

/** Makes the stand-in's next client_secrets answer fail in the given way. */
export async function injectFault(
  fault: { kind: "status"; status: number } | { kind: "hang" } | { kind: "garbage" },
) {
  const response = await fetch(`${STANDIN_URL}/_standin/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ route: "client_secrets", count: 1, ...fault }),
  });
  if (!response.ok) throw new Error(`stand-in faults: ${response.status} ${await response.text()}`);
}

export async function clearFaults(): Promise<void> {
  const response = await fetch(`${STANDIN_URL}/_standin/faults`, { method: "DELETE" });
  if (!response.ok) throw new Error(`stand-in faults: ${response.status}`);
}
