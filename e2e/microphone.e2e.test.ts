/**
 * The microphone permission as a user meets it in Chromium: refused, then allowed, then
 * "Try again". This file's Chromium runs without the suite's `--use-fake-ui-for-media-stream`
 * (which grants every request), so the permission decides: headless, an unanswered request is
 * refused, and Playwright's permission override stands in for allowing it in the site settings.
 */
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumPath } from "./browser.js";
import { APP_URL, standinUrl } from "./stack.js";

let browser: Browser;

beforeAll(async () => {
  standinUrl();
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--use-fake-device-for-media-stream",
      "--allow-loopback-in-peer-connection",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
});
afterAll(async () => {
  await browser?.close();
});

describe("the microphone permission", () => {
  it.each(["secret", "brokered"] as const)(
    "%s mode: refused, then allowed, and Try again connects at once",
    async (mode) => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${APP_URL}?mode=${mode}`);
        await page.waitForSelector('#auth-status[data-auth="anonymous"]');
        // The function is warm: the page's own request on load has been answered.
        await page.waitForSelector(
          mode === "secret" ? "#token-fetches:text-is('1')" : '#minutes-left[data-state="known"]',
          { state: "attached", timeout: 30_000 },
        );
        await page.click("#connect");
        await page.waitForSelector('#banner[data-kind="microphone"]');
        expect(await page.textContent("#banner-message")).toContain(
          "Microphone access was denied.",
        );
        expect(await page.getAttribute("#state", "data-state")).toBe("idle");

        await context.grantPermissions(["microphone"]);
        const clicked = Date.now();
        await page.click("#banner-action");
        // Before the fix the call sat at "Connecting…" until ICE timed out, 15 s later.
        await page.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
        const took = Date.now() - clicked;
        console.log(`${mode}: Try again to connected in ${took} ms`);
        expect(took).toBeLessThan(10_000);
      } finally {
        await context.close();
      }
    },
  );
});
