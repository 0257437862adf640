/**
 * The voice minutes a brokered page shows, in Chromium against the whole stack: two tabs of
 * one user show one figure, the server's newest (each answer's `readAtMs` orders them; the
 * tabs share it over a BroadcastChannel), and no banner quotes an older one; a user whose
 * minutes are spent finds Connect off, saying which budget is spent and when it comes back,
 * also after the server's hang-up at the budget (no Reconnect then), and on again once the
 * server says minutes are back. Project demo-realtime-e2e: 12 s calls, 30 minutes a day.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { docId } from "../functions/src/firestoreOps.js";
import { dayField } from "../functions/src/policy.js";
import { VOICE_USERS } from "../functions/src/minuteStore.js";
import {
  adminFirestore,
  callIdOf,
  connect,
  standin,
  until,
  useAppBrowser,
  uidOf,
} from "./stack.js";

/** functions/.env.demo-realtime-e2e: MAX_CALL_SECONDS; DAILY_VOICE_MINUTES is the default 30. */
const SLICE_SECONDS = 12;
const DAY_SECONDS = 30 * 60;

const app = useAppBrowser();
afterEach(() => app.closeContexts());

const openApp = (context?: BrowserContext) => app.openApp("?mode=brokered", context);

/** The figure the page shows: `data-day-seconds` once known, else null. */
async function shown(page: Page): Promise<number | null> {
  return page.evaluate(() => {
    const left = document.querySelector<HTMLElement>("#minutes-left");
    return left?.dataset.state === "known" ? Number(left.dataset.daySeconds) : null;
  });
}

/** Seconds the server has charged `uid` today (the user document's day counter). */
async function chargedToday(uid: string): Promise<number> {
  const doc = await adminFirestore()
    .doc(`${VOICE_USERS}/${docId(uid)}`)
    .get();
  return Number(doc.get(dayField(Date.now())) ?? 0);
}

/** Sets what `uid` has been charged today, as the user's calls elsewhere would have. */
async function setChargedToday(uid: string, seconds: number): Promise<void> {
  await adminFirestore()
    .doc(`${VOICE_USERS}/${docId(uid)}`)
    .set({ [dayField(Date.now())]: seconds }, { merge: true });
}

/** Waits until every page shows `seconds` (the minutes line settled on the same figure). */
async function allShow(pages: Page[], seconds: number, timeout = 20_000): Promise<void> {
  await until(
    () => Promise.all(pages.map(shown)),
    (figures) => figures.every((figure) => figure === seconds),
    timeout,
    (figures) => `pages show ${JSON.stringify(figures)}, the server has ${seconds} left`,
  );
}

describe("voice minutes in Chromium", () => {
  it("two tabs of one user show one figure, the server's newest, and no banner quotes an older one", async () => {
    const context = await app.newContext();
    const a = await openApp(context);
    // Opened once the first tab has signed in: the same profile, so the same anonymous user.
    const b = await openApp(context);
    const uid = await uidOf(a);
    expect(await uidOf(b)).toBe(uid);
    await allShow([a, b], DAY_SECONDS);
    // One call and its end first: the emulator's first endRealtimeCall starts a worker, which
    // takes longer than a call's 12 s slice here, so A's early hang-up below would find its
    // call already ended at the deadline, and nothing refunded.
    await connect(a);
    await a.click("#disconnect");
    await a.waitForSelector('#minutes-left[data-state="known"]', {
      state: "attached",
      timeout: 30_000,
    });
    const before = DAY_SECONDS - (await chargedToday(uid));
    await allShow([a, b], before);

    // Both in calls: B's call was opened last, so its answer is the newest figure for both.
    await connect(a);
    await connect(b);
    await allShow([a, b], before - 2 * SLICE_SECONDS);

    // A hangs up early: its end's refund is the newest figure, in both tabs.
    await a.waitForTimeout(1_500);
    await a.click("#disconnect");
    await a.waitForSelector('#state[data-state="idle"]', { timeout: 20_000 });
    // The page closes its side after HANG_UP_WAIT_MS at most; the end's answer (a cold
    // instance's) may come later: the minutes line says "updating…" until it has.
    await a.waitForSelector('#minutes-left[data-state="known"]', {
      state: "attached",
      timeout: 30_000,
    });
    const afterA = DAY_SECONDS - (await chargedToday(uid));
    expect(afterA).toBeGreaterThan(before - 2 * SLICE_SECONDS);
    await allShow([a, b], afterA);

    // B's call runs to its limit: the banner says so and quotes no figure of its own.
    const callB = await callIdOf(b);
    await b.waitForSelector('#banner[data-kind="ended-call-limit"]', {
      state: "visible",
      timeout: SLICE_SECONDS * 1000 + 15_000,
    });
    expect((await b.textContent("#banner-message"))?.trim()).toBe(
      "The call reached its 12 s limit, so the server ended it. Press Reconnect to start a new call.",
    );
    await until(
      () => standin.call(callB),
      (call) => call.endedAt !== null,
    );
    // B's end (already ended at the deadline) reads the same counters: nothing changes.
    await allShow([a, b], DAY_SECONDS - (await chargedToday(uid)));
    expect(await chargedToday(uid)).toBe(DAY_SECONDS - afterA);
    for (const page of [a, b]) {
      expect(await page.isDisabled("#connect")).toBe(false);
      expect(await page.isHidden("#connect-hint")).toBe(true);
    }
  }, 180_000);

  it("spent minutes: Connect off with the budget and when it is back, no Reconnect after the budget's hang-up, on again when the server says minutes are back", async () => {
    const context = await app.newContext();
    const page = await openApp(context);
    const uid = await uidOf(page);
    // 10 s left today: the next call's slice spends the day (shorter than a 12 s call).
    await setChargedToday(uid, DAY_SECONDS - 10);
    await page.reload();
    await page.waitForSelector('#auth-status[data-auth="anonymous"]');
    await allShow([page], 10);
    expect(await page.isDisabled("#connect")).toBe(false);

    await connect(page);
    // The call runs to the server's hang-up at the budget.
    await page.waitForSelector('#banner[data-kind="ended-daily-minutes"]', {
      state: "visible",
      timeout: SLICE_SECONDS * 1000 + 15_000,
    });
    expect(await page.textContent("#banner-message")).toMatch(
      /^The call used up today's voice minutes, so the server ended it\. They come back in .+ \(midnight UTC\)\.$/,
    );
    expect(await page.isHidden("#banner-action")).toBe(true);
    expect(await page.getAttribute("#state", "data-state")).toBe("closed");
    await expectBlocked(page);

    // Reloaded: Connect is off from the prepare's answer, before any click.
    await page.reload();
    await page.waitForSelector('#auth-status[data-auth="anonymous"]');
    await page.waitForSelector('#connect-hint[data-reason="daily-minutes"]', { state: "visible" });
    await expectBlocked(page);
    expect(await page.textContent("#minutes-left")).toBe("0 s today");

    // Minutes come back (a hand refund): a newer answer, here another tab's prepare, says so,
    // and the first tab's Connect is on again.
    await setChargedToday(uid, DAY_SECONDS - 60);
    const other = await openApp(context);
    await allShow([other, page], 60);
    for (const tab of [page, other]) {
      await tab.waitForSelector("#connect:not([disabled])");
      expect(await tab.isHidden("#connect-hint")).toBe(true);
      expect((await tab.textContent("#connect"))?.trim()).toBe("Connect");
    }
  }, 120_000);
});

/** Connect is off, not "Reconnect", and the hint says which budget and when it is back. */
async function expectBlocked(page: Page): Promise<void> {
  await page.waitForSelector("#connect[disabled]");
  expect((await page.textContent("#connect"))?.trim()).toBe("Connect");
  expect(await page.isVisible("#connect-hint")).toBe(true);
  expect(await page.getAttribute("#connect-hint", "data-reason")).toBe("daily-minutes");
  const hint = (await page.textContent("#connect-hint")) ?? "";
  expect(hint).toMatch(
    /^You have used today's voice minutes\. They come back in \d[^()]* \(midnight UTC\)\.$/,
  );
  expect(await page.getAttribute("#minutes-left", "data-day-seconds")).toBe("0");
}
