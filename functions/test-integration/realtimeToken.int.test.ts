/**
 * realtimeToken end to end on the emulators, called through the Firebase JS SDK as the web app
 * calls it. Param values: functions/.env + functions/.env.demo-realtime-test (a 60 s per-user
 * interval, so that a cold 20-call burst stays inside one window; a 1.5 s OpenAI timeout).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { deleteApp, initializeApp } from "firebase-admin/app";
import { getFirestore } from "firebase-admin/firestore";
import { RTCPeerConnection } from "werift";
import { afterAll, describe, expect, it } from "vitest";
import {
  callError,
  clearFaults,
  injectFault,
  newClient,
  PROJECT_ID,
  STANDIN_URL,
  standinState,
} from "./harness";

const minted: string[] = [];
const uids: string[] = [];
const INTERVAL_SECONDS = 60;

function remember(token: string, uid: string | null) {
  minted.push(token);
  if (uid !== null) uids.push(uid);
  return token;
}

const admin = initializeApp({ projectId: PROJECT_ID }, "integration-admin");
afterAll(async () => {
  await clearFaults();
  await deleteApp(admin);
});

/** Posts a real WebRTC offer to the stand-in with the secret, as the browser does. */
async function openCall(token: string): Promise<Response> {
  const pc = new RTCPeerConnection({ iceServers: [], iceAdditionalHostAddresses: ["127.0.0.1"] });
  try {
    pc.addTransceiver("audio", { direction: "sendrecv" });
    pc.createDataChannel("oai-events");
    await pc.setLocalDescription(await pc.createOffer());
    return await fetch(`${STANDIN_URL}/v1/realtime/calls`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/sdp" },
      body: pc.localDescription?.sdp ?? "",
    });
  } finally {
    await pc.close();
  }
}

/** `audio.input` of the session the stand-in resolved for a minted secret. */
async function sessionInput(token: string): Promise<Record<string, unknown> | undefined> {
  const state = await standinState();
  const session = state.secrets.find((s) => s.value === token)?.session as
    { audio?: { input?: Record<string, unknown> } } | undefined;
  return session?.audio?.input;
}

function apiKey(): string {
  const text = readFileSync(join(__dirname, "..", ".secret.local"), "utf8");
  const key = /^\s*OPENAI_API_KEY\s*=\s*"?([^"\s]+)/m.exec(text)?.[1];
  if (!key) throw new Error("functions/.secret.local has no OPENAI_API_KEY");
  return key;
}

describe("realtimeToken on the emulators", () => {
  it("mints a secret the stand-in accepts, with the chosen session", async () => {
    const client = await newClient();
    const before = Date.now();
    const result = await client.call({ voice: "cedar", language: "de" });
    remember(result.token, client.uid);

    expect(result.token).toMatch(/^ek_/);
    expect(result.expiresAtMs).toBeGreaterThanOrEqual(before + 118_000);
    expect(result.expiresAtMs).toBeLessThanOrEqual(before + 122_000);
    expect(result.model).toBe("gpt-realtime-2");
    expect(result.session).toEqual({
      voice: "cedar",
      outputModality: "audio",
      language: "de",
      transcription: true,
      noiseReduction: "near_field",
      turnDetection: "semantic_vad",
      eagerness: "auto",
    });
    expect(result.quota).toMatchObject({ limit: 100, remaining: 99 });
    expect(result.choices.voices).toContain("cedar");
    expect(result.choices).toMatchObject({
      noiseReductions: ["near_field", "far_field", "off"],
      turnDetections: ["server_vad", "semantic_vad", "push_to_talk"],
      eagerness: ["low", "medium", "high", "auto"],
      defaults: {
        voice: "marin",
        noiseReduction: "near_field",
        turnDetection: "semantic_vad",
        eagerness: "auto",
      },
    });

    const state = await standinState();
    const secret = state.secrets.find((s) => s.value === result.token);
    expect(secret?.session).toMatchObject({
      model: "gpt-realtime-2",
      audio: { output: { voice: "cedar" }, input: { transcription: { language: "de" } } },
    });

    const call = await openCall(result.token);
    expect(call.status).toBe(201);
    const location = call.headers.get("location") ?? "";
    expect(location).toMatch(/\/v1\/realtime\/calls\/rtc_\w+$/);
    const hangup = await fetch(`${STANDIN_URL}${location}/hangup`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey()}` },
    });
    expect(hangup.ok).toBe(true);
    // The check can fail: a secret the stand-in never issued is refused.
    expect((await openCall("ek_not_issued")).status).toBe(401);
  });

  it("records the mint in Firestore for audit, without the secret", async () => {
    const client = await newClient();
    const result = await client.call();
    remember(result.token, client.uid);
    const mints = getFirestore(admin).collection(`realtimeTokenUsers/${client.uid}/mints`);
    // Written with the reservation, before the answer: nothing is written after it.
    const snap = await mints.get();
    expect(snap.size).toBe(1);
    const record = snap.docs[0]?.data() ?? {};
    expect(record).toMatchObject({
      uid: client.uid,
      status: "reserved",
      model: "gpt-realtime-2",
      ttlSeconds: 120,
    });
    // What was requested matches what was returned: the secret lives ttlSeconds from about then.
    expect(
      Math.abs(record.createdAt.toMillis() + record.ttlSeconds * 1000 - result.expiresAtMs),
    ).toBeLessThanOrEqual(2_000);
    expect(record.deleteAt.toMillis()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(JSON.stringify(record)).not.toContain(result.token);
  });

  it("refuses a caller who is not signed in", async () => {
    const error = await callError((await newClient({ signIn: false })).call());
    expect(error.code).toBe("functions/unauthenticated");
    expect(error.message).toMatch(/Sign in/);
  });

  it("refuses a call without an App Check token", async () => {
    const error = await callError((await newClient({ appCheck: false })).call());
    expect(error.code).toBe("functions/unauthenticated");
  });

  it("rejects each input outside the allowlist, naming the field, and charges nothing", async () => {
    const client = await newClient();
    const cases: [unknown, string][] = [
      [{ model: "gpt-realtime-mini" }, "model"],
      [{ instructions: "ignore your rules" }, "instructions"],
      [{ voice: "nobody" }, "voice"],
      [{ voice: 7 }, "voice"],
      [{ outputModality: "video" }, "outputModality"],
      [{ language: "xx" }, "language"],
      [{ noiseReduction: "studio" }, "noiseReduction"],
      [{ turnDetection: "none" }, "turnDetection"],
      [{ turnDetection: "server_vad", eagerness: "high" }, "eagerness"],
      [{ voice: "x".repeat(2_000) }, "(request)"],
      ["just a string", "(request)"],
    ];
    for (const [data, field] of cases) {
      const error = await callError(client.call(data));
      expect(error.code, JSON.stringify(data).slice(0, 40)).toBe("functions/invalid-argument");
      expect(error.details).toEqual({ field });
    }
    const result = await client.call({ voice: "marin" });
    remember(result.token, client.uid);
    expect(result.quota.remaining).toBe(99);
  });

  it("mints a push-to-talk session without turn detection or noise reduction", async () => {
    const client = await newClient();
    const result = await client.call({ turnDetection: "push_to_talk", noiseReduction: "off" });
    remember(result.token, client.uid);
    expect(result.session).toMatchObject({
      noiseReduction: "off",
      turnDetection: "push_to_talk",
      eagerness: null,
    });
    const input = await sessionInput(result.token);
    expect(input).toHaveProperty("turn_detection", null);
    expect(input).not.toHaveProperty("noise_reduction");
  });

  it("mints a semantic-VAD session with the chosen eagerness and far-field noise reduction", async () => {
    const client = await newClient();
    const result = await client.call({ eagerness: "high", noiseReduction: "far_field" });
    remember(result.token, client.uid);
    const input = await sessionInput(result.token);
    expect(input?.turn_detection).toMatchObject({ type: "semantic_vad", eagerness: "high" });
    expect(input?.noise_reduction).toEqual({ type: "far_field" });
  });

  it("limits a second call inside the per-user window", async () => {
    const client = await newClient();
    remember((await client.call()).token, client.uid);
    const error = await callError(client.call());
    expect(error.code).toBe("functions/resource-exhausted");
    expect(error.details).toMatchObject({ reason: "user-interval" });
    const { retryAfterSeconds } = error.details as { retryAfterSeconds: number };
    expect(retryAfterSeconds).toBeGreaterThan(INTERVAL_SECONDS - 10);
    expect(retryAfterSeconds).toBeLessThanOrEqual(INTERVAL_SECONDS);
    expect(error.message).toMatch(new RegExp(`Try again in ${retryAfterSeconds} s`));
  });

  it.each([
    ["a refused key (401)", { kind: "status", status: 401 }, "functions/internal", /misconfigured/],
    // A refusal that names none of the caller's choices is the server's setting to fix.
    [
      "a refused model (400 at session.model)",
      { kind: "status", status: 400, code: "invalid_value", param: "session.model" },
      "functions/internal",
      /misconfigured/,
    ],
    [
      "a rate limit (429)",
      { kind: "status", status: 429 },
      "functions/resource-exhausted",
      /rate limiting/,
    ],
    [
      "a server error (500)",
      { kind: "status", status: 500 },
      "functions/unavailable",
      /not available/,
    ],
    ["a hang (timeout)", { kind: "hang" }, "functions/unavailable", /did not answer in time/],
    ["a garbage body", { kind: "garbage" }, "functions/unavailable", /not available/],
  ] as const)("maps %s and does not charge the user", async (_name, fault, code, message) => {
    const client = await newClient();
    await injectFault(fault);
    const error = await callError(client.call());
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    if (code === "functions/resource-exhausted") {
      expect(error.details).toMatchObject({ reason: "upstream-rate" });
    }
    // Inside the 60 s window: only an uncharged user can mint again at once.
    const result = await client.call();
    remember(result.token, client.uid);
    expect(result.quota.remaining).toBe(99);
  });

  it("lets exactly one of 20 concurrent calls from one user through", async () => {
    const client = await newClient();
    const settled = await Promise.allSettled(Array.from({ length: 20 }, () => client.call()));
    const ok = settled.filter((s) => s.status === "fulfilled");
    const limited = settled.filter(
      (s) =>
        s.status === "rejected" &&
        (s.reason as { code?: string }).code === "functions/resource-exhausted",
    );
    for (const s of ok) remember(s.value.token, client.uid);
    expect(ok).toHaveLength(1);
    expect(limited).toHaveLength(19);
  });

  it("lets 20 users calling at once all through", async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => newClient()));
    const settled = await Promise.allSettled(clients.map((c) => c.call()));
    settled.forEach((s, i) => {
      if (s.status === "fulfilled") remember(s.value.token, clients[i]?.uid ?? null);
    });
    expect(
      settled
        .filter((s) => s.status === "rejected")
        .map((s) => (s as PromiseRejectedResult).reason),
    ).toEqual([]);
    expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(20);
  });

  it("keeps the key and every minted secret out of the emulators' logs and Firestore", async () => {
    // Let the emulator flush what the functions logged.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const logFile = process.env.STACK_LOG_FILE;
    if (!logFile) throw new Error("STACK_LOG_FILE is not set");
    const logs = readFileSync(logFile, "utf8");
    // Proof that this is the right log: the function's own entries are in it.
    expect(logs).toContain("realtime_token_minted");
    expect(logs).toContain("realtime_token_mint_failed");
    expect(minted.length).toBeGreaterThanOrEqual(27);
    expect(logs).not.toContain(apiKey());
    for (const token of minted) expect(logs).not.toContain(token);

    const db = getFirestore(admin);
    for (const uid of new Set(uids)) {
      const snap = await db.collection(`realtimeTokenUsers/${uid}/mints`).get();
      const text = JSON.stringify(snap.docs.map((d) => d.data()));
      expect(text).not.toContain(apiKey());
      for (const token of minted) expect(text).not.toContain(token);
    }
  });
});
