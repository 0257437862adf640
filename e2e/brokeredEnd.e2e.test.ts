/**
 * Ending a brokered call (`?mode=brokered`) as a user meets it: Disconnect says so and stops
 * sending at once, and what is charged is the time the call ran on the page, not the time the
 * end request took to arrive (a cold function, an outage). Project demo-realtime-e2e: 12 s
 * calls, 30 minutes a day; every test is a fresh profile, so a fresh user.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page, Route } from "playwright-core";
import { describe, expect, it } from "vitest";
import { callIdOf, connect, PROJECT_ID, standin, until, useAppBrowser } from "./stack.js";

/** functions/.env.demo-realtime-e2e: MAX_CALL_SECONDS; DAILY_VOICE_MINUTES is the default 30. */
const SLICE_SECONDS = 12;
const DAY_SECONDS = 30 * 60;
const END = "**/endRealtimeCall";

const app = useAppBrowser();

const daySeconds = async (page: Page) =>
  Number(await page.getAttribute("#minutes-left", "data-day-seconds"));

/** Waits until the page shows minutes back from the call's slice; the seconds charged. */
async function chargedSeconds(page: Page, withinMs: number): Promise<number> {
  const left = await until(
    () => daySeconds(page),
    (seconds) => seconds > DAY_SECONDS - SLICE_SECONDS,
    withinMs,
    (seconds) => `${DAY_SECONDS - seconds} s charged (the whole slice: ${SLICE_SECONDS})`,
  );
  return DAY_SECONDS - left;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `endRealtimeCall`'s worker with a request it refuses (no sign-in): on a fresh stack
 * its first start takes 5-11 s, which with a held request would outlast the 12 s slice.
 */
async function warmEnd(): Promise<void> {
  const { port } = (
    JSON.parse(readFileSync(join(import.meta.dirname, "..", "firebase.json"), "utf8")) as {
      emulators: { functions: { port: number } };
    }
  ).emulators.functions;
  const region = process.env.STACK_FUNCTIONS_REGION ?? "us-central1";
  const response = await fetch(`http://127.0.0.1:${port}/${PROJECT_ID}/${region}/endRealtimeCall`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ data: { callId: "rtc_warm" } }),
    signal: AbortSignal.timeout(60_000),
  });
  expect(response.status).toBeGreaterThanOrEqual(400);
}

/**
 * Connects and returns when `realtimeCall`'s answer reached the page (this clock): the page
 * counts the call's time from then, and a loaded machine can take seconds more to connect.
 */
async function connectTimed(page: Page): Promise<number> {
  const answered = page
    .waitForResponse(
      (response) =>
        response.url().endsWith("/realtimeCall") &&
        response.request().method() === "POST" &&
        (response.request().postDataJSON() as { data?: { offer?: unknown } } | null)?.data
          ?.offer !== undefined,
      { timeout: 60_000 },
    )
    .then(() => Date.now());
  await connect(page);
  return answered;
}

/** The seconds a call that ran from `answeredAt` to `endedAt` may be charged, at most. */
const talkSeconds = (answeredAt: number, endedAt: number) =>
  Math.ceil((endedAt - answeredAt) / 1000) + 1;

/**
 * The app in brokered mode, once its prepare request has shown the minutes: that request also
 * starts `realtimeCall`'s worker, which on a fresh stack can take longer than a Connect waits.
 */
async function openBrokered(): Promise<Page> {
  const page = await app.openApp("?mode=brokered");
  await page.waitForSelector('#minutes-left[data-state="known"]', {
    state: "attached",
    timeout: 60_000,
  });
  return page;
}

describe("ending a brokered call in Chromium", () => {
  it("Disconnect shows Disconnecting… and closes the page's side at once; a slow end is not charged for", async () => {
    await warmEnd();
    const page = await openBrokered();
    const answeredAt = await connectTimed(page);
    const id = await callIdOf(page);
    await sleep(2_000);
    // The end request takes 4 s more to reach the function, as a cold one did (9.9 s once).
    await page.route(END, async (route: Route) => {
      if (route.request().method() === "POST") await sleep(4_000);
      await route.continue();
    });
    const clicked = Date.now();
    await page.click("#disconnect");
    await page.waitForSelector('#state[data-state="disconnecting"]', {
      state: "attached",
      timeout: 1_000,
    });
    expect((await page.textContent("#state"))?.trim()).toBe("Disconnecting…");
    // The page closed its peer connection itself, long before the server's hang-up.
    const ended = await until(
      () => standin.call(id),
      (call) => call.endedAt !== null,
      3_000,
    );
    expect(ended.endedReason).toBe("peer_closed");
    expect((ended.endedAt ?? Infinity) - clicked).toBeLessThan(2_000);

    // After the wait, or the answer, the page is ready again.
    await page.waitForSelector('#state[data-state="idle"]', { state: "attached", timeout: 15_000 });
    const charged = await chargedSeconds(page, 20_000);
    // The talk time: never the 4 s more to the end's arrival, nor the slice.
    expect(charged).toBeGreaterThanOrEqual(2);
    expect(charged).toBeLessThanOrEqual(talkSeconds(answeredAt, clicked));
    expect(await page.isVisible("#banner")).toBe(false);
  });

  it("an end the function did not hear is retried once it is back, and charged the talk time, not the slice", async () => {
    const page = await openBrokered();
    const answeredAt = await connectTimed(page);
    await sleep(2_000);
    // The browser's own refusal: the Firebase SDK turns it into functions/internal "internal [0]".
    await page.route(END, (route) => route.abort("connectionrefused"));
    const clicked = Date.now();
    await page.click("#disconnect");
    const banner = await page.waitForSelector('#banner[data-kind="end-call-failed"]', {
      timeout: 10_000,
    });
    const said = (await banner.textContent()) ?? "";
    await page.waitForSelector('#state[data-state="idle"]', { state: "attached", timeout: 10_000 });
    // Back before the next try (1 s after the first; the 12 s slice leaves no room for more).
    await page.unroute(END);
    const charged = await chargedSeconds(page, 12_000);
    expect(charged).toBeGreaterThanOrEqual(2);
    expect(charged).toBeLessThanOrEqual(talkSeconds(answeredAt, clicked));
    expect(said).toContain("keeps telling it until the call's deadline");
    // Once the retry got through, the banner no longer says the server was not told.
    await page.waitForSelector("#banner", { state: "hidden", timeout: 10_000 });
  });

  it("an end kept across a reload is sent by the next page, with the claim of the click", async () => {
    const page = await openBrokered();
    const answeredAt = await connectTimed(page);
    await sleep(2_000);
    await page.route(END, (route) => route.abort("connectionrefused"));
    const clicked = Date.now();
    await page.click("#disconnect");
    await page.waitForSelector('#banner[data-kind="end-call-failed"]', { timeout: 10_000 });
    const kept = await page.evaluate(() => localStorage.getItem("realtime-pending-ends"));
    expect(JSON.parse(kept ?? "[]")).toHaveLength(1);
    await page.reload();
    await page.waitForSelector('#auth-status[data-auth="anonymous"]');
    await page.unroute(END);
    const charged = await chargedSeconds(page, 12_000);
    expect(charged).toBeGreaterThanOrEqual(2);
    expect(charged).toBeLessThanOrEqual(talkSeconds(answeredAt, clicked));
    await until(
      () => page.evaluate(() => localStorage.getItem("realtime-pending-ends")),
      (item) => item === null,
      5_000,
    );
  });
});
