/**
 * The operator page (operator.html) in Chromium against the stack's `operatorUsage`: an admin
 * (the `voiceAdmin` claim, set with the Admin SDK as `npm run plan -- admin` does) sees the chart
 * and figures of records seeded into Firestore; a guest sees no way in from the voice page and,
 * opening the page's URL, the server's refusal in words. Screenshots of both at 360, 768, 1280
 * and 1600 px go to e2e/artifacts/operator/ (gitignored), with the layout checks of
 * e2e/layout.ts.
 *
 * The stack runs every e2e file against one Firestore, so other files' calls may be in today's
 * figures too: the test reads the page's answer before seeding today's records and expects the
 * figures after it to have grown by exactly those seeds. Past days are seeded before the first
 * read: a read keeps a finished day's rollup (functions/src/usageStore.ts), and later reads take
 * it instead of the day's records; no other file writes those days, so they are exact as such.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_CLAIM,
  estimateCallCostUsd,
  type OperatorUsageResponse,
  type VoiceApi,
} from "voice-contract";
import { docId } from "../functions/src/firestoreOps.js";
import { VOICE_USERS } from "../functions/src/minuteStore.js";
import { REFUSALS } from "../functions/src/refusalCount.js";
import { formatCount, formatMinutes, formatUsd, summaryOf } from "../web/src/app/usageReport.js";
import { problemsAtEveryWidth } from "./layout.js";
import { adminAuth, adminFirestore, APP_URL, uidOf, useAppBrowser } from "./stack.js";

const ARTIFACTS = join(import.meta.dirname, "artifacts", "operator");
const OPERATOR_URL = `${APP_URL}operator.html`;
const DAY_MS = 86_400_000;

const app = useAppBrowser();
beforeAll(() => {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
});

/** `YYYY-MM-DD` of `ms` (UTC). */
function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A seeded call: `daysAgo` UTC days before today, a few seconds into that day. */
interface SeedCall {
  uid: string;
  plan: string;
  model: string;
  daysAgo: number;
  usedSeconds: number;
  unusedSeconds: number;
  /** A call upstream never opened: not a call, its whole slice refunded. */
  failed?: boolean;
}

const API: VoiceApi = "realtime";
const SEED_USERS = [
  { uid: "e2e-operator-seed-ada", email: "ada.seed@example.com" },
  // No email: the page names the user by uid.
  { uid: "e2e-operator-seed-bo", email: null },
] as const;
const [ADA, BO] = SEED_USERS;

const SEED_CALLS: SeedCall[] = [
  {
    uid: ADA.uid,
    plan: "pro",
    model: "gpt-realtime-2",
    daysAgo: 0,
    usedSeconds: 600,
    unusedSeconds: 0,
  },
  {
    uid: ADA.uid,
    plan: "pro",
    model: "gpt-realtime-2",
    daysAgo: 0,
    usedSeconds: 300,
    unusedSeconds: 60,
  },
  {
    uid: ADA.uid,
    plan: "pro",
    model: "gpt-realtime-2",
    daysAgo: 3,
    usedSeconds: 1200,
    unusedSeconds: 0,
  },
  {
    uid: BO.uid,
    plan: "free",
    model: "gpt-realtime-mini",
    daysAgo: 0,
    usedSeconds: 120,
    unusedSeconds: 180,
  },
  {
    uid: BO.uid,
    plan: "free",
    model: "gpt-realtime-mini",
    daysAgo: 10,
    usedSeconds: 60,
    unusedSeconds: 0,
  },
  {
    uid: BO.uid,
    plan: "free",
    model: "gpt-realtime-mini",
    daysAgo: 10,
    usedSeconds: 60,
    unusedSeconds: 0,
  },
  {
    uid: BO.uid,
    plan: "free",
    model: "gpt-realtime-mini",
    daysAgo: 0,
    usedSeconds: 0,
    unusedSeconds: 0,
    failed: true,
  },
];
const FAILED_SLICE_SECONDS = 300;

/** Refusal counters: one reason in two shards today, another three days ago. */
const SEED_REFUSALS = [
  { daysAgo: 0, reason: "daily-minutes", shard: 0, count: 2 },
  { daysAgo: 0, reason: "daily-minutes", shard: 1, count: 1 },
  { daysAgo: 3, reason: "ip-rate", shard: 0, count: 4 },
];

/** Seeds of today, or of the days before. */
type When = "past" | "today";

const isWhen = (when: When) => (seed: { daysAgo: number }) =>
  when === "today" ? seed.daysAgo === 0 : seed.daysAgo > 0;

/** Writes the seeds of `when` as the functions write call records and refusal counters. */
async function seed(todayMs: number, when: When): Promise<void> {
  const db = adminFirestore();
  const auth = adminAuth();
  for (const user of SEED_USERS) {
    if (when === "past") {
      await auth.deleteUser(user.uid).catch(() => undefined);
      await auth.createUser({ uid: user.uid, ...(user.email ? { email: user.email } : {}) });
    }
    await db.doc(`${VOICE_USERS}/${docId(user.uid)}`).set({ updatedAt: Timestamp.now() });
  }
  const batch = db.batch();
  SEED_CALLS.forEach((call, seq) => {
    if (!isWhen(when)(call)) return;
    const reservedAtMs = todayMs - call.daysAgo * DAY_MS + 1_000 + seq * 1_000;
    const reservedSeconds = call.failed
      ? FAILED_SLICE_SECONDS
      : call.usedSeconds + call.unusedSeconds;
    const common = {
      uid: call.uid,
      seq: 1_000 + seq,
      reservedAtMs,
      reservedSeconds,
      createdAt: Timestamp.fromMillis(reservedAtMs),
      plan: call.plan,
      api: API,
      model: call.model,
    };
    const record = call.failed
      ? { ...common, status: "failed", failure: "upstream" }
      : {
          ...common,
          status: "ended",
          callId: `rtc_seed_${seq}`,
          startedAtMs: reservedAtMs + 500,
          deadlineMs: reservedAtMs + 500 + reservedSeconds * 1000,
          endedAtMs: reservedAtMs + 500 + call.usedSeconds * 1000,
          endedBy: "user",
          usedSeconds: call.usedSeconds,
          unusedSeconds: call.unusedSeconds,
        };
    batch.set(db.doc(`${VOICE_USERS}/${docId(call.uid)}/calls/e2e-seed-${seq}`), record);
  });
  for (const refusal of SEED_REFUSALS.filter(isWhen(when))) {
    const day = utcDay(todayMs - refusal.daysAgo * DAY_MS);
    // Added to what is there, as the functions count: another file's refusal of the same
    // reason today may already be in that shard, and overwriting it would lose it.
    batch.set(
      db.doc(`${REFUSALS}/${day}_${refusal.reason}_${refusal.shard}`),
      { day, reason: refusal.reason, count: FieldValue.increment(refusal.count) },
      { merge: true },
    );
  }
  await batch.commit();
}

/** What the seeds of `when` add to the figures. */
function seeded(when: When) {
  const counted = SEED_CALLS.filter((c) => !c.failed && isWhen(when)(c));
  const sum = (calls: SeedCall[], f: (c: SeedCall) => number) =>
    calls.reduce((a, c) => a + f(c), 0);
  const today = counted.filter((c) => c.daysAgo === 0);
  // Priced as the server does: per day, plan and model, over the summed seconds.
  const buckets = new Map<string, { model: string; seconds: number }>();
  for (const c of counted) {
    const key = `${c.daysAgo}|${c.plan}|${c.model}`;
    const bucket = buckets.get(key) ?? { model: c.model, seconds: 0 };
    bucket.seconds += c.usedSeconds;
    buckets.set(key, bucket);
  }
  const cost = [...buckets.values()].reduce(
    (a, b) => a + (estimateCallCostUsd(API, b.model, b.seconds) ?? 0),
    0,
  );
  return {
    calls: counted.length,
    usedSeconds: sum(counted, (c) => c.usedSeconds),
    refundedSeconds:
      sum(counted, (c) => c.unusedSeconds) +
      FAILED_SLICE_SECONDS * SEED_CALLS.filter((c) => c.failed && isWhen(when)(c)).length,
    todayCalls: today.length,
    todayUsedSeconds: sum(today, (c) => c.usedSeconds),
    costUsd: cost,
    planUsedSeconds: (plan: string) =>
      sum(
        counted.filter((c) => c.plan === plan),
        (c) => c.usedSeconds,
      ),
    refusals: SEED_REFUSALS.filter(isWhen(when)).reduce(
      (a, r) => ({ ...a, [r.reason]: (a[r.reason] ?? 0) + r.count }),
      {} as Record<string, number>,
    ),
  };
}

/** The `operatorUsage` answers the page receives, in order. */
function watchAnswers(page: Page): OperatorUsageResponse[] {
  const answers: OperatorUsageResponse[] = [];
  page.on("response", (response) => {
    if (!new URL(response.url()).pathname.endsWith("/operatorUsage")) return;
    if (response.request().method() !== "POST") return;
    void response.json().then((body: { result?: OperatorUsageResponse }) => {
      if (body.result) answers.push(body.result);
    });
  });
  return answers;
}

async function text(page: Page, selector: string): Promise<string> {
  return ((await page.textContent(selector)) ?? "").trim();
}

describe("the operator page", () => {
  it("shows an admin the chart and figures of the seeded records", async () => {
    const todayMs = Date.parse(utcDay(Date.now()));
    await seed(todayMs, "past");
    const context = await app.newContext();
    const page = await context.newPage();
    const answers = watchAnswers(page);

    // A guest first: the server refuses; then the claim, and Refresh (which refreshes the token).
    await page.goto(OPERATOR_URL);
    await page.waitForSelector('#operator-error[data-kind="not-operator"]', { state: "visible" });
    const uid = await uidOf(page);
    await adminAuth().setCustomUserClaims(uid, { [ADMIN_CLAIM]: true });
    await page.click("#operator-refresh");
    await page.waitForSelector('#operator-state[data-status="shown"]');
    expect(await page.isVisible("#operator-error")).toBe(false);
    await expect.poll(() => answers.length).toBe(1);
    const before = answers[0]!;

    await seed(todayMs, "today");
    await page.click("#operator-refresh");
    await expect.poll(() => answers.length).toBe(2);
    await page.waitForSelector('#operator-state[data-status="shown"]');
    const after = answers[1]!;

    // The figures have grown by exactly today's seeds.
    const was = summaryOf(before);
    const add = seeded("today");
    expect(await text(page, "#range-days")).toBe("30");
    expect(await text(page, "#range-calls")).toBe(formatCount(was.range.calls + add.calls));
    expect(await text(page, "#range-minutes")).toBe(
      formatMinutes(was.range.usedSeconds + add.usedSeconds),
    );
    expect(await text(page, "#range-refunded")).toBe(
      formatMinutes(was.range.refundedSeconds + add.refundedSeconds),
    );
    expect(await text(page, "#today-calls")).toBe(formatCount(was.today.calls + add.todayCalls));
    expect(await text(page, "#today-minutes")).toBe(
      formatMinutes(was.today.usedSeconds + add.todayUsedSeconds),
    );
    expect(add.costUsd).toBeGreaterThan(0);
    expect(await text(page, "#range-cost")).toBe(
      formatUsd(was.range.estimatedCostUsd + add.costUsd),
    );
    const seededRefusals = Object.values(add.refusals).reduce((a, b) => a + b, 0);
    expect(await text(page, "#range-refusals")).toBe(formatCount(was.refusals + seededRefusals));
    for (const [reason, count] of Object.entries(add.refusals)) {
      expect(await text(page, `#refusals tr[data-reason="${reason}"] td:last-child`)).toBe(
        formatCount((before.refusals[reason] ?? 0) + count),
      );
    }
    for (const [reason, count] of Object.entries(seeded("past").refusals)) {
      expect(before.refusals[reason]).toBeGreaterThanOrEqual(count);
      expect(await text(page, `#refusals tr[data-reason="${reason}"] td:last-child`)).toBe(
        formatCount(before.refusals[reason] ?? 0),
      );
    }

    // Today's top users: the seeded ones, named by email where they have one.
    const topUser = (who: string) =>
      page.$$eval(`#top-users tr[data-uid="${who}"] td`, (cells) =>
        cells.map((c) => c.textContent?.trim() ?? ""),
      );
    expect(await topUser(ADA.uid)).toEqual([ADA.email, "pro", "2", "15 min"]);
    expect(await topUser(BO.uid)).toEqual([BO.uid, "free", "1", "2 min"]);

    // The chart: the per-day table of the past seeded days (no other file writes there) and
    // the legend; the canvas drawn in each seeded plan's colour.
    const plans = await page.$$eval("#usage-days-head th", (ths) =>
      ths.map((th) => th.textContent ?? ""),
    );
    const cell = (daysAgo: number, plan: string) =>
      text(
        page,
        `#usage-days tr[data-day="${utcDay(todayMs - daysAgo * DAY_MS)}"] td:nth-child(${plans.indexOf(plan) + 1})`,
      );
    expect(plans.indexOf("pro")).toBeGreaterThan(0);
    expect(plans.indexOf("free")).toBeGreaterThan(0);
    await page.click("#usage-table summary");
    expect([await cell(3, "pro"), await cell(3, "free")]).toEqual(["20 min", "0 min"]);
    expect([await cell(10, "pro"), await cell(10, "free")]).toEqual(["0 min", "2 min"]);
    const planSeconds = (answer: OperatorUsageResponse, plan: string) =>
      answer.days.reduce((a, d) => a + (d.byPlan[plan]?.usedSeconds ?? 0), 0);
    expect(await text(page, '#usage-legend li[data-plan="pro"] .legend-minutes')).toBe(
      formatMinutes(planSeconds(before, "pro") + add.planUsedSeconds("pro")),
    );
    expect(planSeconds(after, "free") - planSeconds(before, "free")).toBe(
      add.planUsedSeconds("free"),
    );
    for (const plan of ["pro", "free"]) {
      const drawn = await page.evaluate((name) => {
        const swatch = document.querySelector<HTMLElement>(
          `#usage-legend li[data-plan="${name}"] .legend-swatch`,
        );
        const canvas = document.querySelector<HTMLCanvasElement>("#usage-chart canvas");
        if (!swatch || !canvas) return -1;
        const [r, g, b] = (getComputedStyle(swatch).backgroundColor.match(/\d+/g) ?? []).map(
          Number,
        );
        const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
        let pixels = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i] === r && data[i + 1] === g && data[i + 2] === b) pixels++;
        }
        return pixels;
      }, plan);
      expect(drawn, `pixels of plan ${plan}'s colour`).toBeGreaterThan(20);
    }
    await page.click("#usage-table summary");

    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({
      path: join(ARTIFACTS, "operator-admin.png"),
      fullPage: true,
      animations: "disabled",
    });
    expect(await problemsAtEveryWidth(page, "operator", "admin", ARTIFACTS)).toEqual([]);

    // The dark scheme: the chart redraws its axes in the page's colours.
    await page.emulateMedia({ colorScheme: "dark" });
    await page.screenshot({
      path: join(ARTIFACTS, "operator-admin-dark.png"),
      fullPage: true,
      animations: "disabled",
    });
    await page.emulateMedia({ colorScheme: "light" });

    // Back on the voice page, the refreshed token shows the way to the usage page.
    await page.goto(APP_URL);
    await page.waitForSelector("#operator-link", { state: "visible" });
    expect(await problemsAtEveryWidth(page, "voice", "admin", ARTIFACTS)).toEqual([]);
    await context.close();
  });

  it("shows a guest no way in, and the server's refusal at the page's URL", async () => {
    const page = await app.openApp();
    // The link's check reads the token the page already has; give it time to (wrongly) show.
    await page.waitForTimeout(1_000);
    expect(await page.isHidden("#operator-link")).toBe(true);

    const answers = watchAnswers(page);
    await page.goto(OPERATOR_URL);
    await page.waitForSelector('#operator-error[data-kind="not-operator"]', { state: "visible" });
    expect(await text(page, "#operator-error-message")).toMatch(/not an operator/);
    expect(await text(page, "#operator-error-message")).toContain(ADMIN_CLAIM);
    expect(await page.getAttribute("#operator-state", "data-status")).toBe("failed");
    expect(await page.isHidden("#operator-usage")).toBe(true);
    expect(answers).toEqual([]);
    expect(await problemsAtEveryWidth(page, "operator", "not-operator", ARTIFACTS)).toEqual([]);
  });
});
