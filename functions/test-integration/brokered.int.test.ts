/**
 * Brokered calls end to end on the emulators (Auth, Functions, Cloud Tasks), the Firestore
 * stand-in and the OpenAI stand-in, called through the Firebase JS SDK. Param values:
 * functions/.env + functions/.env.demo-realtime-test (REALTIME_MODES=both, 1 voice minute a
 * day and 4 s calls: exactly 15 slices per user per day; a 1.5 s OpenAI timeout).
 *
 * With the stack's Firestore fault proxy (`--firestore-faults`) this file's own reads and
 * writes go around it, so they work while it refuses the functions.
 */
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { deleteApp, initializeApp } from "firebase-admin/app";
import { getFirestore } from "firebase-admin/firestore";
import { type FunctionsError, httpsCallable } from "firebase/functions";
import { RTCPeerConnection } from "werift";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type {
  EndRealtimeCallResponse,
  MinuteLimitDetails,
  RealtimeCallPrepared,
  RealtimeCallRequest,
  RealtimeCallResponse,
} from "voice-contract";
import { docId, seqId } from "../src/firestoreOps";
import { safetyIdentifier } from "../src/callRequests";
import {
  callError,
  type Client,
  clearFaults,
  firestoreFault,
  functionUrl,
  injectFault,
  newClient,
  PROJECT_ID,
  type StandinCall,
  standinState,
  tasksFault,
} from "./harness";

const direct = process.env.FIRESTORE_DIRECT_HOST;
if (direct !== undefined) process.env.FIRESTORE_EMULATOR_HOST = direct;

const SLICE_SECONDS = 4;
const DAY_SECONDS = 60;
const SLICES = DAY_SECONDS / SLICE_SECONDS;
/** IP_CALLS_PER_MINUTE of functions/.env.demo-realtime-test. */
const CALLS_PER_NETWORK = 10;
/** OPENAI_TIMEOUT_MS of functions/.env.demo-realtime-test: a hang-up's own deadline. */
const OPENAI_TIMEOUT_MS = 1_500;
/** What a caller is told when its reservation outlasted FIRESTORE_TIMEOUT_MS (httpsErrors.ts). */
const STORE_LIMITS_TEXT = "Could not check your usage limits. Try again shortly.";

const admin = initializeApp({ projectId: PROJECT_ID }, "brokered-admin");
const offers: string[] = [];
const answers: string[] = [];
/** The uid of every user that called a brokered callable here, for {@link quiet}. */
const callers = new Set<string>();
afterAll(async () => {
  await clearFaults();
  await deleteApp(admin);
});

function apiKey(): string {
  const text = readFileSync(join(__dirname, "..", ".secret.local"), "utf8");
  const key = /^\s*OPENAI_API_KEY\s*=\s*"?([^"\s]+)/m.exec(text)?.[1];
  if (!key) throw new Error("functions/.secret.local has no OPENAI_API_KEY");
  return key;
}

/** A real WebRTC offer (audio + the oai-events data channel), as the browser makes it. */
async function makeOffer(): Promise<string> {
  const pc = new RTCPeerConnection({ iceServers: [], iceAdditionalHostAddresses: ["127.0.0.1"] });
  try {
    pc.addTransceiver("audio", { direction: "sendrecv" });
    pc.createDataChannel("oai-events");
    await pc.setLocalDescription(await pc.createOffer());
    const sdp = pc.localDescription?.sdp ?? "";
    offers.push(sdp);
    return sdp;
  } finally {
    await pc.close();
  }
}

function callable(client: Client) {
  if (client.uid !== null) callers.add(client.uid);
  const open = httpsCallable<RealtimeCallRequest | unknown, RealtimeCallResponse>(
    client.functions,
    "realtimeCall",
    { limitedUseAppCheckTokens: true },
  );
  const end = httpsCallable<unknown, EndRealtimeCallResponse>(client.functions, "endRealtimeCall", {
    limitedUseAppCheckTokens: true,
  });
  return {
    async open(data: Record<string, unknown> = {}): Promise<RealtimeCallResponse> {
      const result = (await open({ offer: await makeOffer(), ...data })).data;
      answers.push(result.answer);
      return result;
    },
    openRaw: (data: unknown) => open(data),
    end: async (callId: string, extra: Record<string, unknown> = {}) =>
      (await end({ callId, ...extra })).data,
    endRaw: (data: unknown) => end(data),
  };
}

async function standinCall(callId: string): Promise<StandinCall | undefined> {
  return (await standinState()).calls.find((c) => c.id === callId);
}

/** Polls the stand-in until the call has ended (or `withinMs` passes). */
async function endedOnStandin(callId: string, withinMs: number): Promise<StandinCall> {
  const until = Date.now() + withinMs;
  for (;;) {
    const call = await standinCall(callId);
    if (call?.endedAt != null) return call;
    if (Date.now() > until) throw new Error(`call ${callId} still open after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits until no call is open on the stand-in and no call record is live: no deadline task of
 * an earlier test is still pending or retrying (the stand-in's faults are global, and a retry
 * would take the fault meant for this test). Fails naming what is still open after `withinMs`.
 *
 * Records are read user by user (every user this file called with, and every user document):
 * the Firestore stand-in answers collection-group queries with nothing.
 */
async function quiet(withinMs = 60_000): Promise<void> {
  const until = Date.now() + withinMs;
  for (;;) {
    const open = (await standinState()).calls.filter((c) => c.endedAt === null).map((c) => c.id);
    const live = await liveRecords();
    if (open.length === 0 && live.length === 0) return;
    if (Date.now() > until)
      throw new Error(
        `still open after ${withinMs} ms: calls on the stand-in [${open.join(", ")}], ` +
          `live records [${live.join(", ")}]`,
      );
    await sleep(200);
  }
}

/** The paths of live call records, among every user this file knows of. */
async function liveRecords(): Promise<string[]> {
  const db = getFirestore(admin);
  const ids = new Set([...callers].map(docId));
  for (const user of (await db.collection("voiceUsers").get()).docs) ids.add(user.id);
  const found = await Promise.all(
    [...ids].map((id) =>
      db.collection(`voiceUsers/${id}/calls`).where("status", "==", "live").get(),
    ),
  );
  return found.flatMap((snapshot) => snapshot.docs.map((d) => d.ref.path));
}

/** A user's call records (`voiceUsers/{id}/calls`), in seq order. */
async function callRecords(uid: string | null) {
  if (uid === null) throw new Error("no uid");
  const db = getFirestore(admin);
  return (await db.collection(`voiceUsers/${docId(uid)}/calls`).get()).docs;
}

async function record(uid: string, seq: number) {
  const db = getFirestore(admin);
  return (await db.doc(`voiceUsers/${docId(uid)}/calls/${seqId(seq)}`).get()).data();
}

describe.runIf(PROJECT_ID === "demo-realtime-test")("brokered calls on the emulators", () => {
  it("opens a call with the server's session and a keyed safety id, never the uid", async () => {
    const client = await newClient();
    const calls = callable(client);
    const before = Date.now();
    const result = await calls.open({ voice: "cedar", language: "de" });

    expect(result.answer).toMatch(/^v=0\r?\n/);
    expect(result.callId).toMatch(/^rtc_/);
    expect(result.sliceSeconds).toBe(SLICE_SECONDS);
    expect(result.limitedBy).toBe("call");
    expect(result.endsAtMs).toBeGreaterThanOrEqual(before + SLICE_SECONDS * 1000);
    expect(result.endsAtMs).toBeLessThanOrEqual(Date.now() + SLICE_SECONDS * 1000);
    expect(result.minutes).toMatchObject({
      daySeconds: DAY_SECONDS - SLICE_SECONDS,
      monthSeconds: null,
    });
    expect(result.session).toMatchObject({ voice: "cedar", language: "de" });

    const seen = await standinCall(result.callId);
    expect(seen?.session).toMatchObject({
      model: "gpt-realtime-2",
      instructions: expect.stringContaining("friendly, concise voice assistant"),
      audio: {
        output: { voice: "cedar" },
        input: { transcription: { model: "gpt-4o-mini-transcribe", language: "de" } },
      },
    });
    if (client.uid === null) throw new Error("no uid");
    expect(seen?.safetyIdentifier).toBe(safetyIdentifier(client.uid, apiKey()));
    expect(seen?.safetyIdentifier).not.toContain(client.uid);
    expect(await record(client.uid, 1)).toMatchObject({
      uid: client.uid,
      status: "live",
      callId: result.callId,
      reservedSeconds: SLICE_SECONDS,
      deadlineMs: result.endsAtMs,
    });
  });

  it("opens a push-to-talk call without turn detection, and answers the choices like realtimeToken", async () => {
    const client = await newClient();
    const calls = callable(client);
    const result = await calls.open({ turnDetection: "push_to_talk", noiseReduction: "far_field" });
    expect(result.session).toMatchObject({
      turnDetection: "push_to_talk",
      eagerness: null,
      noiseReduction: "far_field",
    });
    expect(result.choices).toMatchObject({
      turnDetections: ["server_vad", "semantic_vad", "push_to_talk"],
      defaults: { turnDetection: "semantic_vad" },
    });
    const seen = await standinCall(result.callId);
    expect(seen?.session).toMatchObject({
      audio: { input: { turn_detection: null, noise_reduction: { type: "far_field" } } },
    });
    await calls.end(result.callId);
  });

  it("answers a prepare with the user's minutes, holds nothing, and lets browsers keep its preflight", async () => {
    const client = await newClient();
    const calls = callable(client);
    const prepared = (await calls.openRaw({ prepare: true }))
      .data as unknown as RealtimeCallPrepared;
    expect(prepared).toMatchObject({
      prepared: true,
      minutes: { daySeconds: DAY_SECONDS },
      maxCallSeconds: expect.any(Number),
      model: expect.any(String),
      choices: { voices: expect.any(Array) },
    });
    const before = (await standinState()).calls.length;
    const opened = await calls.open();
    expect(opened.minutes.daySeconds).toBe(DAY_SECONDS - SLICE_SECONDS);
    // The prepare opened nothing upstream: the one call is the click's.
    expect((await standinState()).calls.length).toBe(before + 1);
    await calls.end(opened.callId);
    const bad = await callError(calls.openRaw({ prepare: true, voice: "cedar" }));
    expect(bad.code).toBe("functions/invalid-argument");
    expect(bad.message).toMatch(/carries nothing else/);

    // What a browser on the app's origin asks before it, through the Functions emulator.
    const preflight = await fetch(functionUrl("realtimeCall"), {
      method: "OPTIONS",
      headers: {
        Origin: "http://127.0.0.1:5002",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-firebase-appcheck",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-max-age")).toBe("600");
  });

  it("refuses a bad offer with invalid-argument naming what is wrong, and charges nothing", async () => {
    const client = await newClient();
    const calls = callable(client);
    const missing = await callError(calls.openRaw({ voice: "cedar" }));
    expect(missing.code).toBe("functions/invalid-argument");
    expect(missing.details).toEqual({ field: "offer" });

    const noData = (await makeOffer()).replace(/m=application[\s\S]*$/, "");
    const error = await callError(calls.openRaw({ offer: noData }));
    expect(error.code).toBe("functions/invalid-argument");
    expect(error.message).toContain("no data channel");

    const notSdp = await callError(calls.openRaw({ offer: "hello" }));
    expect(notSdp.message).toContain("not SDP");
    const result = await calls.open();
    expect(result.minutes.daySeconds).toBe(DAY_SECONDS - SLICE_SECONDS);
  });

  it("refuses an offer whose audio lists no codec with invalid-argument naming the offer, before anything is charged", async () => {
    const client = await newClient();
    const calls = callable(client);
    // Its payload types cut, as a hand-made or munged offer may have it; upstream refuses it.
    const noCodec = (await makeOffer()).replace(/^(m=audio \S+ \S+) .*$/m, "$1 ");
    expect(noCodec).toMatch(/^m=audio 9 UDP\/TLS\/RTP\/SAVPF \r$/m);
    const before = (await standinState()).requests.calls;
    const error = await callError(calls.openRaw({ offer: noCodec }));
    expect(error.code).toBe("functions/invalid-argument");
    expect(error.details).toEqual({ field: "offer" });
    expect(error.message).toMatch(/audio section \(m=audio\) lists no codec/);
    // Refused before the reservation: nothing upstream, and the first call is the first record.
    expect((await standinState()).requests.calls).toBe(before);
    const result = await calls.open();
    expect(result.minutes.daySeconds).toBe(DAY_SECONDS - SLICE_SECONDS);
    if (client.uid === null) throw new Error("no uid");
    // Live, or already hung up at its deadline on a slow machine.
    expect(await record(client.uid, 1)).toMatchObject({
      status: expect.stringMatching(/^(live|ended)$/),
    });
  });

  it("serves a user whose voice-user document was edited by hand into garbage, leaving no stray record", async () => {
    const client = await newClient();
    const calls = callable(client);
    // Calls here end at their deadline, never early: the deadline task of a call ended early
    // still hangs up at its deadline, and would take a hang-up fault a later test injects.
    await calls.open();
    if (client.uid === null) throw new Error("no uid");
    const user = getFirestore(admin).collection("voiceUsers").doc(docId(client.uid));
    const today = new Date().toISOString().slice(0, 10).replaceAll("-", "");
    await user.update({ seq: "x", [`d${today}`]: "junk" });

    const second = await calls.open();
    expect(second.sliceSeconds).toBe(SLICE_SECONDS);
    const mine = await callRecords(client.uid);
    // Both calls opened (live, or hung up at their deadline on a slow machine); none stray.
    expect(mine.map((d) => d.id)).toEqual([seqId(1), seqId(2)]);
    for (const call of mine) expect(["live", "ended"]).toContain(call.get("status"));
    // The hand edit cost the day's count, never access: it restarts at this slice.
    expect((await user.get()).get(`d${today}`)).toBe(SLICE_SECONDS);
  });

  it("ends a call early on request: hung up first, the unused seconds back, idempotent, owner only", async () => {
    const client = await newClient();
    const calls = callable(client);
    const stranger = callable(await newClient());
    // Warm endRealtimeCall's worker, so that a cold start does not outlast the 4 s slice.
    expect((await callError(stranger.end("rtc_nobody"))).code).toBe("functions/not-found");
    const opened = await calls.open();
    const notYours = await callError(stranger.end(opened.callId));
    expect(notYours.code).toBe("functions/not-found");
    // Issue 19, item 13: a field the request does not have is named, and nothing is ended.
    const extra = await callError(calls.endRaw({ callId: opened.callId, foo: 1 }));
    expect(extra.code).toBe("functions/invalid-argument");
    expect(extra.details).toEqual({ field: "foo" });
    expect((await standinCall(opened.callId))?.endedAt).toBeNull();

    const ended = await calls.end(opened.callId);
    expect(ended.outcome).toBe("ended");
    expect(ended.usedSeconds).toBeGreaterThanOrEqual(1);
    expect(ended.usedSeconds).toBeLessThan(SLICE_SECONDS);
    expect(ended.minutes.daySeconds).toBe(DAY_SECONDS - (ended.usedSeconds ?? 0));
    const seen = await standinCall(opened.callId);
    expect(seen?.endedReason).toBe("hangup");

    const again = await calls.end(opened.callId);
    expect(again).toMatchObject({ outcome: "already-ended", usedSeconds: null });
    expect(again.minutes.daySeconds).toBe(ended.minutes.daySeconds);
    if (client.uid === null) throw new Error("no uid");
    expect(await record(client.uid, 1)).toMatchObject({ status: "ended", endedBy: "user" });
  });

  it("charges to when the page says it ended the call, not to when the end arrived", async () => {
    const client = await newClient();
    const calls = callable(client);
    // Warm endRealtimeCall's worker, so that a cold start does not outlast the 4 s slice.
    expect((await callError(calls.end("rtc_nobody"))).code).toBe("functions/not-found");
    const opened = await calls.open();
    await sleep(2_500);
    const bad = await callError(calls.end(opened.callId, { endedAfterSeconds: -1 }));
    expect(bad.code).toBe("functions/invalid-argument");
    expect(bad.details).toEqual({ field: "endedAfterSeconds" });
    // The page closed its side 1 s in; its end arrives 2.5 s or more later.
    const ended = await calls.end(opened.callId, { endedAfterSeconds: 1 });
    expect(ended).toMatchObject({ outcome: "ended", usedSeconds: 1 });
    expect(ended.minutes.daySeconds).toBe(DAY_SECONDS - 1);
    expect((await standinCall(opened.callId))?.endedReason).toBe("hangup");
    if (client.uid === null) throw new Error("no uid");
    expect(await record(client.uid, 1)).toMatchObject({
      status: "ended",
      endedBy: "user",
      usedSeconds: 1,
      unusedSeconds: SLICE_SECONDS - 1,
    });
  });

  it("hangs up at the deadline, within 2 s and never early, and charges the whole slice", async () => {
    // Warm the task function's worker: its first dispatch starts one (5-11 s on 2 cores).
    const warm = callable(await newClient());
    const first = await warm.open();
    await endedOnStandin(first.callId, 30_000);

    const client = await newClient();
    const calls = callable(client);
    const late: number[] = [];
    for (let i = 0; i < 3; i++) {
      const opened = await calls.open();
      const ended = await endedOnStandin(opened.callId, SLICE_SECONDS * 1000 + 10_000);
      expect(ended.endedReason).toBe("hangup");
      late.push((ended.endedAt ?? 0) - opened.endsAtMs);
    }
    console.log(`deadline hang-up lateness (ms): ${late.join(", ")}`);
    for (const ms of late) {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(2_000);
    }
    if (client.uid === null) throw new Error("no uid");
    // The record is ended right after the hang-up; give the task a moment to write it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await record(client.uid, 3)).toMatchObject({
      status: "ended",
      endedBy: "deadline",
      usedSeconds: SLICE_SECONDS,
      unusedSeconds: 0,
    });
  });

  it(`charges exactly ${SLICES} slices when one user makes 20 concurrent calls`, async () => {
    const client = await newClient();
    const calls = callable(client);
    // Offers first, so that the calls leave together.
    const prepared = await Promise.all(Array.from({ length: 20 }, () => makeOffer()));
    const settled = await Promise.allSettled(prepared.map((offer) => calls.openRaw({ offer })));
    const opened = settled.filter((s) => s.status === "fulfilled");
    const refused = settled
      .filter((s) => s.status === "rejected")
      .map((s) => (s as PromiseRejectedResult).reason as FunctionsError);
    // On 20 cold emulator workers (5-11 s each on 2 loaded cores) a contended reservation can
    // outlast FIRESTORE_TIMEOUT_MS and answer unavailable; it then charged nothing. Nothing
    // else may refuse a call, and the budget must be spent exactly.
    const budget = refused.filter((e) => e.code === "functions/resource-exhausted");
    const timedOut = refused.filter((e) => e.code === "functions/unavailable");
    console.log(
      `20-call burst: ${opened.length} opened, ${budget.length} over budget, ${timedOut.length} unavailable`,
    );
    expect(budget.length + timedOut.length).toBe(refused.length);
    // Over budget are exactly the calls past the 15 slices; a timed-out reservation may have
    // let one more through or held its slice meanwhile (beside another checkout's suites: 11
    // opened, 9 timeouts, so none over budget).
    if (timedOut.length === 0) expect(budget).toHaveLength(20 - SLICES);
    expect(budget.length).toBeLessThanOrEqual(20 - SLICES);
    for (const error of budget) {
      const details = error.details as MinuteLimitDetails;
      expect(details.reason).toBe("daily-minutes");
      expect(details.retryAfterSeconds).toBeGreaterThan(0);
      expect(error.message).toContain("today's voice minutes");
    }

    if (client.uid === null) throw new Error("no uid");
    const records = (await callRecords(client.uid)).map((d) => d.data());
    // Every charged slice belongs to a call that was opened, never more than the budget. Without
    // timeouts that is exactly k; a reservation that timed out charged nothing in the end, but
    // may have held its slice while later calls were refused (seen in CI: 14 opened, 4 over
    // budget, 2 timeouts), so then at least k minus the timeouts.
    // A call the server opened but could not mark live or schedule by its deadline (a cold
    // burst) answered unavailable: `failed`, or `ended` by the server with nothing used.
    const charged = records.filter(
      (r) => r.status !== "failed" && !(r.endedBy === "server" && r.usedSeconds === 0),
    );
    expect(charged).toHaveLength(opened.length);
    expect(opened).toHaveLength(records.filter((r) => typeof r.callId === "string").length);
    if (timedOut.length === 0) expect(charged).toHaveLength(SLICES);
    expect(charged.length).toBeLessThanOrEqual(SLICES);
    expect(charged.length).toBeGreaterThanOrEqual(SLICES - timedOut.length);
    // Upstream saw the opened calls, and at most one more per call answered unavailable: a call
    // OpenAI opened whose start write or hang-up task missed the deadline (seen beside another
    // checkout's suites: 15 opened, 16 upstream), which the server hangs up itself; or one whose
    // answer came after OPENAI_TIMEOUT_MS, whose id the server never learned (OpenAI ends such a
    // call: no browser ever connects to it).
    const id = safetyIdentifier(client.uid, apiKey());
    const upstream = (await standinState()).calls.filter((c) => c.safetyIdentifier === id);
    const openedIds = new Set(
      settled.flatMap((s) => (s.status === "fulfilled" ? [s.value.data.callId] : [])),
    );
    const dropped = upstream.filter((c) => !openedIds.has(c.id));
    expect(upstream.length - dropped.length).toBe(opened.length);
    expect(dropped.length).toBeLessThanOrEqual(timedOut.length);
    const known = new Set(records.map((r) => r.callId).filter((id) => typeof id === "string"));
    for (const call of dropped.filter((c) => known.has(c.id))) {
      expect((await endedOnStandin(call.id, 10_000)).endedReason).toBe("hangup");
    }
    // What the burst left of the budget opens, one call at a time; the next is over budget.
    let more = 0;
    let over: FunctionsError | undefined;
    while (over === undefined && more <= SLICES) {
      over = await calls.open().then(
        () => void (more += 1),
        (error: unknown) => error as FunctionsError,
      );
    }
    // At most what the records left (a reservation that timed out may land late, then refunded).
    expect(more).toBeLessThanOrEqual(SLICES - charged.length);
    expect(over?.code).toBe("functions/resource-exhausted");
    expect(over?.details).toMatchObject({ reason: "daily-minutes" });
    expect(over?.message).toContain("today's voice minutes");
  });

  it(`lets exactly ${CALLS_PER_NETWORK} of 30 users on one address call in a minute, and hands a slot back when OpenAI fails`, async () => {
    await quiet();
    // Thirty idle workers first (unmeasured, no address: no network limit), so that the burst
    // below fits in one minute on a loaded 2-core machine instead of waiting for cold workers.
    const warm = await Promise.all(Array.from({ length: 30 }, () => newClient()));
    await Promise.allSettled(warm.map((client) => callable(client).open()));
    await quiet();
    // The network window is an epoch minute: start early in one.
    if (Date.now() % 60_000 > 10_000) await sleep(60_000 - (Date.now() % 60_000) + 200);
    const minute = Math.floor(Date.now() / 60_000);

    const shared = `198.51.100.${randomInt(1, 255)}`;
    const clients = await Promise.all(
      Array.from({ length: 30 }, () => newClient({ forwardedFor: shared })),
    );
    const offers = await Promise.all(clients.map(() => makeOffer()));
    const settled = await Promise.allSettled(
      clients.map((client, i) => callable(client).openRaw({ offer: offers[i] })),
    );
    const opened = settled.filter((r) => r.status === "fulfilled").length;
    const refused = settled
      .filter((r) => r.status === "rejected")
      .map((r) => (r as PromiseRejectedResult).reason as FunctionsError);
    // The others are refused for the network's rate. Beside another checkout's suites some
    // instead held a slot and were answered `unavailable`: OpenAI's answer came after
    // OPENAI_TIMEOUT_MS (the stand-in answering 30 offers on two busy cores), or the
    // reservation itself, contending with 29 others for the network's document, outlasted
    // FIRESTORE_TIMEOUT_MS. Either hands its slot back (the second once its commit lands).
    const rate = refused.filter((e) => e.code === "functions/resource-exhausted");
    const slow = refused.filter((e) => e.code === "functions/unavailable");
    expect(rate.length + slow.length).toBe(30 - opened);
    for (const error of slow) {
      if (error.details === undefined) expect(error.message).toBe(STORE_LIMITS_TEXT);
      else expect(error.details).toEqual({ reason: "upstream-timeout" });
    }
    expect(rate.length).toBeGreaterThan(0);
    // Never more than the allowance; less only by slots the slow ones held when the rate
    // refusals were decided.
    expect(opened).toBeLessThanOrEqual(CALLS_PER_NETWORK);
    expect(opened + slow.length).toBeGreaterThanOrEqual(CALLS_PER_NETWORK);
    if (slow.length === 0) expect(opened).toBe(CALLS_PER_NETWORK);
    for (const error of rate) {
      const details = error.details as MinuteLimitDetails;
      expect(details.reason).toBe("ip-rate");
      expect(details.retryAfterSeconds).toBeGreaterThan(0);
      expect(details.retryAfterSeconds).toBeLessThanOrEqual(60);
      expect(error.message).toContain("Too many calls from your network");
    }

    // Another address: a call OpenAI fails gives its slot back, so the allowance is still whole.
    const other = `198.51.100.${randomInt(1, 255)}`;
    const unlucky = await newClient({ forwardedFor: other });
    await injectFault({ kind: "status", status: 500 }, 1, "calls");
    expect((await callError(callable(unlucky).open())).code).toBe("functions/unavailable");
    const next = await Promise.all(
      Array.from({ length: CALLS_PER_NETWORK }, () => newClient({ forwardedFor: other })),
    );
    const again = await Promise.allSettled(next.map((client) => callable(client).open()));
    expect(again.filter((r) => r.status === "fulfilled")).toHaveLength(CALLS_PER_NETWORK);
    const over = await callError(callable(unlucky).open());
    expect(over.code).toBe("functions/resource-exhausted");
    expect((over.details as MinuteLimitDetails).reason).toBe("ip-rate");
    // Everything above happened in one network window, or the counts above would not hold.
    expect(Math.floor(Date.now() / 60_000)).toBe(minute);

    // The burst charged exactly the calls it opened: refused users have no record or a failed
    // one, a reservation that outlasted its deadline included, once its late commit is settled.
    const charged = async () => {
      let count = 0;
      for (const client of clients) {
        const calls = await callRecords(client.uid);
        count += calls.filter((d) => d.get("status") !== "failed").length;
      }
      return count;
    };
    await until(async () => (await charged()) === opened, 30_000);
    await quiet();
  }, 300_000);

  describe("upstream faults", () => {
    for (const [name, fault, message] of [
      ["a 500", { kind: "status", status: 500 }, "OpenAI is not available right now."],
      // A timeout says so, with a reason the page tells apart from its own wait for us.
      ["no answer (timeout)", { kind: "hang" }, "OpenAI did not answer in time."],
      ["garbage", { kind: "garbage" }, "OpenAI is not available right now."],
    ] as const) {
      it(`refunds the slice when the call request gets ${name}, and the next call works`, async () => {
        const client = await newClient();
        const calls = callable(client);
        await injectFault(fault, 1, "calls");
        const error = await callError(calls.open());
        expect(error.code).toBe("functions/unavailable");
        expect(error.message).toContain(message);
        if (fault.kind === "hang")
          expect(error.details).toMatchObject({ reason: "upstream-timeout" });
        const next = await calls.open();
        // Only the second call's slice is charged.
        expect(next.minutes.daySeconds).toBe(DAY_SECONDS - SLICE_SECONDS);
        if (client.uid === null) throw new Error("no uid");
        expect(await record(client.uid, 1)).toMatchObject({ status: "failed" });
      });
    }

    for (const [name, fault, field] of [
      ["its offer (400 invalid_offer)", { code: "invalid_offer" }, "offer"],
      [
        "the caller's voice (400 at session.audio.output.voice)",
        { code: "invalid_value", param: "session.audio.output.voice" },
        "voice",
      ],
    ] as const) {
      it(`answers OpenAI's refusal of ${name} with invalid-argument naming ${field}, refunded`, async () => {
        const client = await newClient();
        const calls = callable(client);
        await injectFault({ kind: "status", status: 400, ...fault }, 1, "calls");
        const error = await callError(calls.open());
        expect(error.code).toBe("functions/invalid-argument");
        expect(error.details).toEqual({ field });
        expect(error.message).not.toMatch(/v=0|a=ice|fingerprint/);
        if (client.uid === null) throw new Error("no uid");
        expect(await record(client.uid, 1)).toMatchObject({ status: "failed" });
        const next = await calls.open();
        expect(next.minutes.daySeconds).toBe(DAY_SECONDS - SLICE_SECONDS);
      });
    }

    it("early end: a failed hang-up refunds nothing and says so; the retry ends it", async () => {
      // The stand-in's faults are global: no earlier call's deadline task may take this one.
      await quiet();
      const client = await newClient();
      const calls = callable(client);
      const opened = await calls.open();
      await injectFault({ kind: "status", status: 500 }, 1, "hangup");
      const error = await callError(calls.end(opened.callId));
      expect(error.code).toBe("functions/unavailable");
      if (client.uid === null) throw new Error("no uid");
      expect(await record(client.uid, 1)).toMatchObject({ status: "live" });
      const ended = await calls.end(opened.callId);
      expect(ended.outcome).toBe("ended");
      expect((await standinCall(opened.callId))?.endedReason).toBe("hangup");
    });

    it("early end: a 404 from the hang-up is no proof; the record ends as asked, and the deadline task still hangs up on time", async () => {
      // Issue 19, item 10: the 404 was taken as "ended", and the deadline task, finding an
      // ended record, left the call running past its deadline. Now the record ends as the page
      // asked (the page closed its side first, and an ended call may answer 404), marked
      // upstreamOpen, and the task still hangs the call up at its deadline.
      await quiet();
      // Warm the task function's and endRealtimeCall's workers: a cold end could arrive after
      // the deadline, and the task's lateness below is then its own.
      const warm = callable(await newClient());
      await endedOnStandin((await warm.open()).callId, 30_000);
      expect((await callError(warm.end("rtc_nobody"))).code).toBe("functions/not-found");
      await quiet();

      const client = await newClient();
      const calls = callable(client);
      if (client.uid === null) throw new Error("no uid");
      const opened = await calls.open();
      await injectFault({ kind: "status", status: 404 }, 1, "hangup");
      const ended = await calls.end(opened.callId, { endedAfterSeconds: 1 });
      expect(ended).toMatchObject({ outcome: "ended", usedSeconds: 1 });
      expect(await record(client.uid, 1)).toMatchObject({
        status: "ended",
        endedBy: "user",
        upstreamOpen: true,
      });
      expect((await standinCall(opened.callId))?.endedAt).toBeNull();

      const hungUp = await endedOnStandin(opened.callId, SLICE_SECONDS * 1000 + 30_000);
      expect(hungUp.endedReason).toBe("hangup");
      const lateMs = (hungUp.endedAt ?? 0) - opened.endsAtMs;
      console.log(`hang-up after a 404'd end: ${lateMs} ms after the deadline`);
      expect(lateMs).toBeGreaterThanOrEqual(0);
      expect(lateMs).toBeLessThanOrEqual(2_000);
      await sleep(500);
      // Charged what the page asked, nothing more for the task's hang-up.
      expect(await record(client.uid, 1)).toMatchObject({ status: "ended", usedSeconds: 1 });
      const again = await calls.end(opened.callId);
      expect(again).toMatchObject({ outcome: "already-ended", usedSeconds: null });
      expect(again.minutes.daySeconds).toBe(DAY_SECONDS - 1);
    });

    it("deadline: a failed hang-up is retried until the call is over", async () => {
      await quiet();
      const client = await newClient();
      const calls = callable(client);
      const opened = await calls.open();
      await injectFault({ kind: "status", status: 500 }, 2, "hangup");
      const ended = await endedOnStandin(opened.callId, SLICE_SECONDS * 1000 + 30_000);
      expect(ended.endedReason).toBe("hangup");
      expect(ended.endedAt ?? 0).toBeGreaterThanOrEqual(opened.endsAtMs);
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (client.uid === null) throw new Error("no uid");
      expect(await record(client.uid, 1)).toMatchObject({ status: "ended", endedBy: "deadline" });
    });
  });

  describe.runIf(process.env.FIRESTORE_FAULTS_URL !== undefined)(
    "Firestore refuses while OpenAI answers (the Firestore fault proxy)",
    () => {
      afterEach(async () => {
        await firestoreFault({ mode: "pass" });
        await clearFaults();
      });

      it("answers unavailable, charges nothing, hangs up by the deadline, and the record stays failed", async () => {
        // Issue 19, item 9: the start write, given up at FIRESTORE_TIMEOUT_MS (8 s here, past
        // the 4 s slice), landed after the refund and turned the failed record live for good.
        await quiet();
        const client = await newClient();
        const calls = callable(client);
        if (client.uid === null) throw new Error("no uid");
        // Warm realtimeCall's and endRealtimeCall's workers, outside the fault.
        const warm = await calls.open();
        const used = (await calls.end(warm.callId)).usedSeconds ?? 0;

        const sent = (await standinState()).requests.calls;
        await injectFault({ kind: "delay", ms: 1_000 }, 1, "calls");
        const pending = callError(calls.open());
        // The reservation is in once the offer is upstream: take Firestore away while OpenAI
        // holds its answer, so that the start write cannot land.
        await until(async () => (await standinState()).requests.calls > sent, 20_000);
        await firestoreFault({ mode: "refuse" });
        const id = safetyIdentifier(client.uid, apiKey());
        const mine = async () =>
          (await standinState()).calls.find(
            (c) => c.safetyIdentifier === id && c.id !== warm.callId,
          );
        // Firestore comes back once the server has hung the call up (it refunds after that).
        await until(async () => (await mine())?.endedAt != null, 30_000);
        await firestoreFault({ mode: "pass" });
        const error = await pending;
        expect(error.code).toBe("functions/unavailable");

        const call = await mine();
        expect(call?.endedReason).toBe("hangup");
        const ranMs = (call?.endedAt ?? Infinity) - (call?.startedAt ?? 0);
        console.log(`a call whose start could not be written ran ${ranMs} ms (slice 4 s)`);
        expect(ranMs).toBeLessThanOrEqual(SLICE_SECONDS * 1000 + OPENAI_TIMEOUT_MS + 1_000);

        // The refund lands once Firestore is back; the user is charged the warm-up call only.
        await until(async () => (await record(client.uid ?? "", 2))?.status === "failed", 30_000);
        // And the record stays failed: the start write the functions' client still delivers
        // after the refund finds it settled and writes nothing. (One delivered before the refund
        // may leave its call id beside `failed`: the stand-in cannot delete a field, and the
        // refund's outcome guard settles it all the same.)
        for (const stopAt = Date.now() + 15_000; Date.now() < stopAt; await sleep(500)) {
          const now = await record(client.uid, 2);
          expect(now).toMatchObject({ status: "failed", failure: "store-unavailable" });
        }
        const prepared = await eventuallyPrepared(calls);
        expect(prepared.minutes.daySeconds).toBe(DAY_SECONDS - used);
        const next = await calls.open();
        expect(next.minutes.daySeconds).toBe(DAY_SECONDS - used - SLICE_SECONDS);
        await calls.end(next.callId);
        await quiet();
      }, 180_000);
    },
  );

  describe.runIf(process.env.TASKS_FAULTS_URL !== undefined)(
    "the hang-up task cannot be enqueued (the Cloud Tasks emulator behind a fault proxy)",
    () => {
      afterEach(async () => {
        // Drop whatever connection a hang left half-used, then let traffic through again.
        await tasksFault({ mode: "refuse" });
        await tasksFault({ mode: "pass" });
      });

      for (const [name, fault] of [
        ["refuses connections", { mode: "refuse" }],
        ["never answers", { mode: "hang" }],
      ] as const) {
        it(`when the queue ${name}: unavailable, the call hung up, nothing charged, the next call works`, async () => {
          const client = await newClient();
          const calls = callable(client);
          if (client.uid === null) throw new Error("no uid");
          // Warm realtimeCall's worker for this user's path, outside the fault.
          const warm = await calls.open();
          const started = Date.now();
          await tasksFault(fault);
          const error = await callError(calls.open());
          const tookMs = Date.now() - started;
          await tasksFault({ mode: "pass" });
          expect(error.code).toBe("functions/unavailable");
          expect(error.message).toContain(
            "Could not schedule the end of your call, so it was not opened. Try again shortly.",
          );
          // A hung queue is given up on at FIRESTORE_TIMEOUT_MS (8 s here), not the call's 30 s.
          expect(tookMs).toBeLessThan(20_000);

          // The call upstream opened for it was ended at once, by the server's hang-up.
          const id = safetyIdentifier(client.uid, apiKey());
          const mine = (await standinState()).calls.filter((c) => c.safetyIdentifier === id);
          expect(mine).toHaveLength(2);
          const refused = mine.find((c) => c.id !== warm.callId);
          expect(refused?.endedReason).toBe("hangup");
          expect(refused?.endedAt ?? Infinity).toBeLessThan(started + tookMs + 1_000);
          expect(await record(client.uid, 2)).toMatchObject({
            status: "ended",
            endedBy: "server",
            callId: refused?.id,
            usedSeconds: 0,
            unusedSeconds: SLICE_SECONDS,
          });

          // Only the warm-up call's slice is charged; the next call opens and ends on time.
          const next = await calls.open();
          expect(next.minutes.daySeconds).toBe(DAY_SECONDS - 2 * SLICE_SECONDS);
          const ended = await endedOnStandin(next.callId, SLICE_SECONDS * 1000 + 30_000);
          expect(ended.endedReason).toBe("hangup");
          expect(ended.endedAt ?? 0).toBeGreaterThanOrEqual(next.endsAtMs);
        });
      }
    },
  );

  it("keeps the key, the offers and the answers out of the logs and Firestore", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const logFile = process.env.STACK_LOG_FILE;
    if (!logFile) throw new Error("STACK_LOG_FILE is not set");
    const logs = readFileSync(logFile, "utf8");
    expect(logs).toContain("realtime_call_opened");
    expect(logs).toContain("realtime_call_upstream_failed");
    expect(logs).toContain("realtime_call_deadline_done");
    expect(logs).not.toContain(apiKey());
    expect(offers.length).toBeGreaterThan(20);
    expect(answers.length).toBeGreaterThan(5);
    for (const sdp of [...offers, ...answers]) {
      // Each description's fingerprint and ICE password are unique to it.
      for (const line of sdp.split(/\r?\n/).filter((l) => /^a=(fingerprint|ice-pwd):/.test(l)))
        expect(logs).not.toContain(line);
    }
    const db = getFirestore(admin);
    const users = await db.collection("voiceUsers").get();
    for (const user of users.docs) {
      const calls = await user.ref.collection("calls").get();
      const text = JSON.stringify(calls.docs.map((d) => d.data()));
      expect(text).not.toContain(apiKey());
      expect(text).not.toContain("a=fingerprint");
    }
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

async function until(check: () => Promise<boolean>, withinMs: number): Promise<void> {
  const end = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not reached within ${withinMs} ms`);
    await sleep(50);
  }
}

/**
 * A prepare through the SDK, asked again while the functions' Firestore client reconnects after
 * an outage (it backs off on its own): `unavailable` until then.
 */
async function eventuallyPrepared(
  calls: ReturnType<typeof callable>,
  withinMs = 30_000,
): Promise<RealtimeCallPrepared> {
  const end = Date.now() + withinMs;
  for (;;) {
    try {
      return (await calls.openRaw({ prepare: true })).data as unknown as RealtimeCallPrepared;
    } catch (error) {
      if ((error as FunctionsError).code !== "functions/unavailable" || Date.now() > end)
        throw error;
      await sleep(250);
    }
  }
}
