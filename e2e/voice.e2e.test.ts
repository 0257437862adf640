/**
 * Issue 12's voice features in the real app, in Chromium against the local stack (web app on
 * the Hosting emulator, Auth and Functions emulators, the OpenAI stand-in over real WebRTC).
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { REALTIME_PRICES } from "../web/src/realtime/prices.js";
import { launchChromium } from "./browser.js";
import {
  APP_URL,
  connect,
  recordServerEvents,
  serverEvents,
  useAppBrowser,
  waitForServerEvents,
} from "./stack.js";

/** The function's default model in the e2e project (functions/src/config.ts). */
const MODEL = "gpt-realtime-2";

const app = useAppBrowser();

/** A fresh profile (a fresh anonymous user) on the app, signed in; records every `response.done`. */
async function openApp(): Promise<Page> {
  return app.openApp("", await recordingContext(app.browser));
}

async function newPage(on: Browser): Promise<Page> {
  return (await recordingContext(on)).newPage();
}

/** A fresh profile on `on` whose pages record every `response.done` they receive. */
async function recordingContext(on: Browser): Promise<BrowserContext> {
  const context = await app.newContext(on);
  await recordServerEvents(context, ["response.done"]);
  return context;
}

/** Sends a typed message and waits for the `n`th `response.done` of the page. */
async function ask(page: Page, text: string, n: number): Promise<void> {
  await page.fill("#text-input", text);
  await page.click("#send-text");
  await waitForServerEvents(page, "response.done", n - 1);
}

interface Usage {
  input_token_details: {
    text_tokens: number;
    audio_tokens: number;
    cached_tokens_details?: { text_tokens: number; audio_tokens: number };
  };
  output_token_details: { text_tokens: number; audio_tokens: number };
}

/** Usage × the price table, in nano-dollars (prices are $ per 1M tokens). */
function expectedNanoUsd(usages: Usage[]): number {
  const p = REALTIME_PRICES[MODEL];
  if (!p) throw new Error(`no prices for ${MODEL}`);
  const nano = (perMillion: number) => Math.round(perMillion * 1000);
  let total = 0;
  for (const u of usages) {
    const cachedText = u.input_token_details.cached_tokens_details?.text_tokens ?? 0;
    const cachedAudio = u.input_token_details.cached_tokens_details?.audio_tokens ?? 0;
    total +=
      (u.input_token_details.text_tokens - cachedText) * nano(p.textIn) +
      cachedText * nano(p.cachedTextIn) +
      (u.input_token_details.audio_tokens - cachedAudio) * nano(p.audioIn) +
      cachedAudio * nano(p.cachedAudioIn) +
      u.output_token_details.text_tokens * nano(p.textOut) +
      u.output_token_details.audio_tokens * nano(p.audioOut);
  }
  return total;
}

async function usages(page: Page): Promise<Usage[]> {
  const done = await serverEvents<{ response: { usage: Usage } }>(page, "response.done");
  return done.map((event) => event.response.usage);
}

async function cost(page: Page, id: "cost-call" | "cost-page") {
  return page.$eval(`#${id}`, (el) => ({
    text: el.textContent,
    kind: el.getAttribute("data-kind"),
    nanoUsd: el.getAttribute("data-nano-usd"),
  }));
}

const dollars = (nanoUsd: number) => {
  const cents = Math.round(nanoUsd / 10_000_000);
  return cents === 0 ? "≈ < $0.01" : `≈ $${(cents / 100).toFixed(2)}`;
};

describe("cost estimate", () => {
  it("matches usage × the price table, per call and for the page", async () => {
    const page = await openApp();
    expect(await cost(page, "cost-call")).toEqual({ text: "–", kind: "none", nanoUsd: null });
    await connect(page);
    expect(await page.textContent("#model")).toBe(MODEL);

    await ask(page, "Tell me a long story", 1);
    await ask(page, "And another one", 2);
    const first = await usages(page);
    expect(first).toHaveLength(2);
    const firstCall = expectedNanoUsd(first);
    expect(firstCall).toBeGreaterThan(0);
    expect(await cost(page, "cost-call")).toEqual({
      text: dollars(firstCall),
      kind: "estimate",
      nanoUsd: String(firstCall),
    });
    expect(await cost(page, "cost-page")).toEqual(await cost(page, "cost-call"));

    // A second call (on the cached secret) starts its own figure; the page's keeps adding up.
    await page.click("#disconnect");
    await page.waitForSelector('#state[data-state="idle"]');
    await connect(page);
    expect((await cost(page, "cost-call")).kind).toBe("none");
    expect(await cost(page, "cost-page")).toMatchObject({ nanoUsd: String(firstCall) });
    await ask(page, "One more", 3);
    const all = await usages(page);
    const secondCall = expectedNanoUsd(all.slice(2));
    expect(await cost(page, "cost-call")).toMatchObject({ nanoUsd: String(secondCall) });
    expect(await cost(page, "cost-page")).toEqual({
      text: dollars(firstCall + secondCall),
      kind: "estimate",
      nanoUsd: String(firstCall + secondCall),
    });
  });
});

describe("audio under autoplay policies", () => {
  it("plays the assistant's element in the Connect click: playing when session.created arrives", async () => {
    const page = await openApp();
    await connect(page);
    expect(await page.getAttribute("#session-id", "data-audio")).toBe("playing");
    expect(await page.getAttribute("#remote-audio", "data-playback")).toMatch(
      /^(starting|playing)$/,
    );
    expect(await page.isVisible("#tap-to-hear")).toBe(false);
  });

  it("shows “Tap to hear the assistant” when the browser blocks playback, and plays after the tap", async () => {
    // No user activation ever reaches a page that connects on load: Chromium refuses play().
    const blocking = await launchChromium(["--autoplay-policy=document-user-activation-required"]);
    try {
      const page = await newPage(blocking);
      // Chromium lets a page that is capturing a real device autoplay; Safari does not. A
      // microphone made in the page (silence from an AudioContext) keeps Chromium's policy on.
      await page.addInitScript(() => {
        navigator.mediaDevices.getUserMedia = () =>
          Promise.resolve(new AudioContext().createMediaStreamDestination().stream);
      });
      // Touching the page in any way (even reading it) would activate it: wait on events only.
      const refused = page.waitForEvent("console", {
        // The refusal that matters: the play() once the remote stream is attached.
        predicate: (message) =>
          message.text().includes("blocked the assistant's audio (with the stream attached)"),
        timeout: 30_000,
      });
      await page.goto(`${APP_URL}?connect=load`);
      await refused;
      await page.waitForSelector('#state[data-state="connected"]');
      await page.waitForSelector('#session-id[data-created="true"]', { state: "attached" });
      expect(await page.getAttribute("#remote-audio", "data-playback")).toBe("blocked");
      expect(await page.$eval("#remote-audio", (el) => (el as HTMLAudioElement).paused)).toBe(true);
      expect(await page.isVisible("#tap-to-hear")).toBe(true);
      expect(await page.textContent("#tap-to-hear")).toContain("Tap to hear the assistant");
      // No error banner: the control is the answer to a refusal.
      expect(await page.isVisible("#banner")).toBe(false);

      await page.click("#tap-to-hear");
      await page.waitForSelector('#remote-audio[data-playback="playing"]', { state: "attached" });
      expect(await page.$eval("#remote-audio", (el) => (el as HTMLAudioElement).paused)).toBe(
        false,
      );
      expect(await page.isVisible("#tap-to-hear")).toBe(false);
    } finally {
      await blocking.close();
    }
  });
});
