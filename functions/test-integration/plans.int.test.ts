/**
 * Plans end to end: the voicePlan custom claim, set with firebase-admin against the Auth
 * emulator (by scripts/plan.ts, as an operator would), reaches the callables through the
 * client's ID token. Param values: functions/.env.demo-realtime-test (the default plan is the
 * params, 1 voice minute a day and 4 s calls; `pro` has 2 minutes and 8 s calls).
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { deleteApp, initializeApp } from "firebase-admin/app";
import { getAuth as adminAuth } from "firebase-admin/auth";
import { getAuth } from "firebase/auth";
import { httpsCallable } from "firebase/functions";
import { afterAll, describe, expect, it } from "vitest";
import type { RealtimeCallPrepared } from "voice-contract";
import { callError, type Client, newClient, PROJECT_ID } from "./harness";

const ROOT = join(__dirname, "..", "..");
const admin = initializeApp({ projectId: PROJECT_ID }, "plans-admin");
afterAll(() => deleteApp(admin));

/** `npm run plan -- <args>`, as an operator runs it against the emulators. */
async function planScript(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", join(ROOT, "scripts", "plan.ts"), ...args],
    { cwd: ROOT, env: { ...process.env, GCLOUD_PROJECT: PROJECT_ID }, timeout: 60_000 },
  );
  return stdout;
}

async function prepared(client: Client): Promise<RealtimeCallPrepared> {
  const call = httpsCallable<unknown, RealtimeCallPrepared>(client.functions, "realtimeCall", {
    limitedUseAppCheckTokens: true,
  });
  return (await call({ prepare: true })).data;
}

/** What the page does after a plan change: fetch a fresh ID token with the new claims. */
async function refreshToken(client: Client): Promise<void> {
  await getAuth(client.app).currentUser?.getIdToken(true);
}

describe("plans", () => {
  it("gives two users on different plans their own budgets", async () => {
    const free = await newClient();
    const pro = await newClient();
    await adminAuth(admin).setCustomUserClaims(pro.uid ?? "", { voicePlan: "pro" });
    await refreshToken(pro);
    const [freeMinutes, proMinutes] = await Promise.all([prepared(free), prepared(pro)]);
    expect(freeMinutes.minutes.daySeconds).toBe(60);
    expect(freeMinutes.maxCallSeconds).toBe(4);
    expect(proMinutes.minutes.daySeconds).toBe(120);
    expect(proMinutes.maxCallSeconds).toBe(8);
  });

  it("applies a plan change, made with npm run plan, on the next call after a token refresh", async () => {
    const user = await newClient();
    const uid = user.uid ?? "";
    expect((await prepared(user)).minutes.daySeconds).toBe(60);

    const set = await planScript("set", uid, "pro");
    expect(set).toMatch(new RegExp(`${uid} .*plan default -> pro`));
    expect(set).toMatch(/next ID token/);
    expect(await planScript("show", uid)).toMatch(/plan pro: overrides/);
    // The token the client holds still carries the old claims.
    expect((await prepared(user)).minutes.daySeconds).toBe(60);
    await refreshToken(user);
    expect((await prepared(user)).minutes.daySeconds).toBe(120);

    await planScript("set", uid, "default");
    await refreshToken(user);
    expect((await prepared(user)).minutes.daySeconds).toBe(60);
  });

  it("answers an undeclared plan or an unknown user with a clear error", async () => {
    const user = await newClient();
    await expect(planScript("set", user.uid ?? "", "gold")).rejects.toMatchObject({
      stderr: expect.stringMatching(/No plan "gold" in VOICE_PLANS of demo-realtime-test/),
    });
    await expect(planScript("show", "nobody-here")).rejects.toMatchObject({
      stderr: expect.stringMatching(/No user nobody-here/),
    });
  });

  it("gives a claim naming an unknown plan the default plan, not internal", async () => {
    const user = await newClient();
    await adminAuth(admin).setCustomUserClaims(user.uid ?? "", { voicePlan: "gold" });
    await refreshToken(user);
    expect((await prepared(user)).minutes.daySeconds).toBe(60);
  });

  it("refuses a mode the plan does not include with failed-precondition", async () => {
    const user = await newClient();
    await adminAuth(admin).setCustomUserClaims(user.uid ?? "", { voicePlan: "brokeredOnly" });
    await refreshToken(user);
    const error = await callError(user.call({}));
    expect(error.code).toBe("functions/failed-precondition");
    expect(error.message).toMatch(/Your plan \(brokeredOnly\) does not include realtimeToken/);
    expect(error.details).toEqual({ reason: "mode-not-served", served: ["brokered"] });
    expect((await prepared(user)).minutes.daySeconds).toBe(60);
  });
});
