/**
 * The operator's usage data end to end: `operatorUsage` through the Firebase JS SDK, the admin
 * claim set with `npm run plan -- admin` against the Auth emulator, and figures checked against
 * the call record a brokered call left in Firestore. Param values:
 * functions/.env.demo-realtime-test (`pro` has 8 s calls; `brokeredOnly` gets no secrets).
 *
 * Other files' users made calls today too, so the checks compare the answer before and after
 * this file's own call and refusal (files run one after another).
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { deleteApp, initializeApp } from "firebase-admin/app";
import { getAuth as adminAuth } from "firebase-admin/auth";
import { getFirestore } from "firebase-admin/firestore";
import { getAuth } from "firebase/auth";
import { httpsCallable } from "firebase/functions";
import { RTCPeerConnection } from "werift";
import { afterAll, describe, expect, it } from "vitest";
import type {
  EndRealtimeCallResponse,
  OperatorUsageResponse,
  PlanDayUsage,
  RealtimeCallResponse,
} from "voice-contract";
import { docId } from "../src/firestoreOps";
import { callError, type Client, newClient, PROJECT_ID } from "./harness";

const direct = process.env.FIRESTORE_DIRECT_HOST;
if (direct !== undefined) process.env.FIRESTORE_EMULATOR_HOST = direct;

const ROOT = join(__dirname, "..", "..");
const admin = initializeApp({ projectId: PROJECT_ID }, "operator-admin");
afterAll(() => deleteApp(admin));

async function planScript(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", join(ROOT, "scripts", "plan.ts"), ...args],
    { cwd: ROOT, env: { ...process.env, GCLOUD_PROJECT: PROJECT_ID }, timeout: 60_000 },
  );
  return stdout;
}

function operatorUsage(client: Client, data: unknown = { days: 1 }) {
  return httpsCallable<unknown, OperatorUsageResponse>(client.functions, "operatorUsage")(data);
}

async function offer(): Promise<string> {
  const pc = new RTCPeerConnection({ iceServers: [], iceAdditionalHostAddresses: ["127.0.0.1"] });
  try {
    pc.addTransceiver("audio", { direction: "sendrecv" });
    pc.createDataChannel("oai-events");
    await pc.setLocalDescription(await pc.createOffer());
    return pc.localDescription?.sdp ?? "";
  } finally {
    await pc.close();
  }
}

const NONE: PlanDayUsage = { calls: 0, usedSeconds: 0, refundedSeconds: 0, estimatedCostUsd: 0 };
function today(answer: OperatorUsageResponse, plan: string): PlanDayUsage {
  return answer.days.at(-1)?.byPlan[plan] ?? NONE;
}

/** The user's only call record, once it is settled. */
async function settledRecord(uid: string, withinMs: number): Promise<Record<string, unknown>> {
  const until = Date.now() + withinMs;
  for (;;) {
    const snap = await getFirestore(admin)
      .collection(`voiceUsers/${docId(uid)}/calls`)
      .get();
    const data = snap.docs[0]?.data();
    if (data?.status === "ended" || data?.status === "failed") return data;
    if (Date.now() > until) throw new Error(`the call of ${uid} is still ${String(data?.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.runIf(PROJECT_ID === "demo-realtime-test")("operatorUsage", () => {
  it("answers a signed-in user without the admin claim permission-denied", async () => {
    const user = await newClient();
    await adminAuth(admin).setCustomUserClaims(user.uid ?? "", { voicePlan: "pro" });
    await getAuth(user.app).currentUser?.getIdToken(true);
    const error = await callError(operatorUsage(user));
    expect(error.code).toBe("functions/permission-denied");
    expect(error.message).toMatch(/operatorUsage is for operators.*voiceAdmin/);
  });

  it("gives an admin, made one with npm run plan, figures that match the records", async () => {
    const operator = await newClient();
    const uid = operator.uid ?? "";
    expect(await planScript("admin", uid, "on")).toMatch(/operator off -> on \(voiceAdmin\)/);
    expect(await planScript("admin", uid)).toMatch(/an operator \(voiceAdmin\)/);
    // The token the client holds still carries the old claims.
    expect((await callError(operatorUsage(operator))).code).toBe("functions/permission-denied");
    await getAuth(operator.app).currentUser?.getIdToken(true);
    const before = (await operatorUsage(operator)).data;
    expect(before.days).toHaveLength(1);

    // One pro call, ended by its user (or by its deadline task, which the emulator runs early).
    const caller = await newClient();
    const callerUid = caller.uid ?? "";
    await adminAuth(admin).setCustomUserClaims(callerUid, { voicePlan: "pro" });
    await getAuth(caller.app).currentUser?.getIdToken(true);
    const opened = (
      await httpsCallable<unknown, RealtimeCallResponse>(caller.functions, "realtimeCall", {
        limitedUseAppCheckTokens: true,
      })({ offer: await offer() })
    ).data;
    await httpsCallable<unknown, EndRealtimeCallResponse>(caller.functions, "endRealtimeCall", {
      limitedUseAppCheckTokens: true,
    })({ callId: opened.callId }).catch(() => undefined);
    const record = await settledRecord(callerUid, 60_000);
    expect(record).toMatchObject({ plan: "pro", api: "realtime", model: opened.model });

    // One plan refusal: brokeredOnly gets no secrets.
    const refused = await newClient();
    await adminAuth(admin).setCustomUserClaims(refused.uid ?? "", { voicePlan: "brokeredOnly" });
    await getAuth(refused.app).currentUser?.getIdToken(true);
    expect((await callError(refused.call({}))).code).toBe("functions/failed-precondition");

    const after = (await operatorUsage(operator)).data;
    const [was, is] = [today(before, "pro"), today(after, "pro")];
    expect(is.calls - was.calls).toBe(1);
    expect(is.usedSeconds - was.usedSeconds).toBe(record.usedSeconds);
    expect(is.refundedSeconds - was.refundedSeconds).toBe(record.unusedSeconds);
    expect((after.refusals["plan-mode"] ?? 0) - (before.refusals["plan-mode"] ?? 0)).toBe(1);
    expect(after.generatedAtMs).toBeGreaterThan(before.generatedAtMs);

    expect(await planScript("admin", uid, "off")).toMatch(/operator on -> off/);
    await getAuth(operator.app).currentUser?.getIdToken(true);
    expect((await callError(operatorUsage(operator))).code).toBe("functions/permission-denied");
  });

  it("refuses days out of range with invalid-argument naming the field", async () => {
    const operator = await newClient();
    await adminAuth(admin).setCustomUserClaims(operator.uid ?? "", { voiceAdmin: true });
    await getAuth(operator.app).currentUser?.getIdToken(true);
    const error = await callError(operatorUsage(operator, { days: 90 }));
    expect(error.code).toBe("functions/invalid-argument");
    expect(error.details).toEqual({ field: "days" });
    expect((await operatorUsage(operator, {})).data.days).toHaveLength(30);
  });
});
