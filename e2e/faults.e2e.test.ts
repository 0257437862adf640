/**
 * What a user sees when a step of connecting, or the call itself, goes wrong: each fault is
 * injected for real (the stand-in's fault and vanish controls, a refused connection in the
 * browser), and each test checks the page's words and that Connect works again without a
 * reload.
 */
import type { BrowserContext, Page, Route } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import {
  connect,
  meterLag,
  recordStates,
  standin,
  standinUrl,
  until,
  useAppBrowser,
} from "./stack.js";

const app = useAppBrowser();

afterEach(async () => {
  await fetch(`${standinUrl()}/_standin/faults`, { method: "DELETE" });
});

const text = async (page: Page, selector: string) =>
  ((await page.textContent(selector)) ?? "").trim();

/** The page's peer connections in the order it made them, and its `createOffer` calls. */
interface PeersSeen {
  made: { connection: RTCPeerConnectionState; localDescription: string | null }[];
  offers: number;
}

/** Makes every page of `context` count its peer connections and offers, for {@link peersOf}. */
async function countPeers(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const made: RTCPeerConnection[] = [];
    const seen = { made, offers: 0 };
    Object.assign(window, { __peers: seen });
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Native {
      constructor(configuration?: RTCConfiguration) {
        super(configuration);
        made.push(this);
      }
    };
    type Method = (this: RTCPeerConnection, ...args: unknown[]) => Promise<unknown>;
    const proto = Native.prototype as unknown as { createOffer: Method };
    const createOffer = proto.createOffer;
    proto.createOffer = function (...args) {
      seen.offers++;
      return createOffer.apply(this, args);
    };
  });
}

/** What the page's peer connections are now (see {@link countPeers}). */
function peersOf(page: Page): Promise<PeersSeen> {
  return page.evaluate(() => {
    const { made, offers } = (
      window as unknown as { __peers: { made: RTCPeerConnection[]; offers: number } }
    ).__peers;
    return {
      made: made.map((pc) => ({
        connection: pc.connectionState,
        localDescription: pc.localDescription?.type ?? null,
      })),
      offers,
    };
  });
}

describe("faults, as the user sees them", () => {
  it("a calls endpoint that never answers: the SDP step times out with its name, and Connect works again", async () => {
    const page = await app.openApp();
    await standin.fault({ route: "calls", kind: "hang", count: 1 });
    const clicked = Date.now();
    await page.click("#connect");
    await page.waitForSelector('#state[data-state="connecting"]', { state: "attached" });
    const banner = await page.waitForSelector('#banner[data-kind="timeout-openai-answer"]', {
      timeout: 25_000,
    });
    const waited = Date.now() - clicked;
    expect(waited).toBeGreaterThan(14_000);
    expect(waited).toBeLessThan(20_000);
    expect(await banner.textContent()).toContain(
      "OpenAI's answer did not come within 15 s. Check your network",
    );
    expect(await page.getAttribute("#state", "data-state")).toBe("idle");
    await connect(page);
  });

  it("a brokered call whose function is slow: the SDP step names the function, not OpenAI or the network", async () => {
    const page = await app.openApp("?mode=brokered");
    // The function is warm and answering: the page's prepare request came back.
    await page.waitForSelector('#minutes-left[data-state="known"]', { state: "attached" });
    // The offer's request is held, as a loaded function would hold it; prepare requests pass.
    const held: Route[] = [];
    await page.route("**/realtimeCall", async (route) => {
      const body = route.request().postDataJSON() as { data?: { offer?: unknown } } | null;
      if (typeof body?.data?.offer === "string") held.push(route);
      else await route.continue();
    });
    const clicked = Date.now();
    await page.click("#connect");
    const banner = await page.waitForSelector('#banner[data-kind="timeout-backend-answer"]', {
      timeout: 25_000,
    });
    const waited = Date.now() - clicked;
    expect(waited).toBeGreaterThan(14_000);
    expect(held).toHaveLength(1);
    const message = (await banner.textContent()) ?? "";
    expect(message).toContain("The voice server (this app's function) did not answer within 15 s.");
    expect(message).not.toContain("OpenAI");
    expect(message).not.toMatch(/network/i);
    expect(await page.getAttribute("#state", "data-state")).toBe("idle");
    for (const route of held) await route.abort().catch(() => undefined);
    await page.unroute("**/realtimeCall");
    await connect(page);
  });

  it("a brokered call OpenAI is too slow to answer: the function says so, and the page names OpenAI", async () => {
    const page = await app.openApp("?mode=brokered");
    await page.waitForSelector('#minutes-left[data-state="known"]', { state: "attached" });
    // Never answered: the function gives up at OPENAI_TIMEOUT_MS (10 s), before the page's 15 s.
    await standin.fault({ route: "calls", kind: "hang", count: 1 });
    await page.click("#connect");
    const banner = await page.waitForSelector('#banner[data-kind="timeout-upstream-answer"]', {
      timeout: 25_000,
    });
    expect(await banner.textContent()).toContain(
      "OpenAI did not answer the voice server in time. OpenAI may be busy",
    );
    expect(await page.getAttribute("#state", "data-state")).toBe("idle");
    await connect(page);
  });

  it("an unreachable function: says so (not 'misconfigured'), and Connect works once it is back", async () => {
    const page = await app.openApp("?prefetch=off");
    // The browser's own refusal: the Firebase SDK turns it into functions/internal "internal [0]".
    await page.route("**/realtimeToken", (route) => route.abort("connectionrefused"));
    await page.click("#connect");
    const banner = await page.waitForSelector('#banner[data-kind="token-unreachable"]');
    const message = (await banner.textContent()) ?? "";
    expect(message).toContain("Couldn't reach the voice service.");
    expect(message).not.toMatch(/misconfigured/i);
    expect(await page.getAttribute("#state", "data-state")).toBe("idle");
    await page.unroute("**/realtimeToken");
    await connect(page);
  });

  it("a refused call: the page builds the next call's peer connection and offer at once, and the next Connect uses them", async () => {
    const context = await app.newContext();
    await countPeers(context);
    const page = await app.openApp("", context);
    // The first Connect's, made once the session code has loaded.
    await until(
      () => peersOf(page),
      ({ made }) => made.length === 1 && made[0]?.localDescription === "offer",
    );
    await standin.fault({ route: "calls", kind: "status", status: 503, count: 1 });
    await page.click("#connect");
    const banner = await page.waitForSelector("#banner:not([hidden])");
    expect(await banner.getAttribute("data-kind")).toBe("openai-call");
    expect(await page.getAttribute("#state", "data-state")).toBe("idle");

    // No click: the failed call's peer connection is closed and the next one is ready.
    const ready = await until(
      () => peersOf(page),
      ({ made }) => made.length === 2 && made[1]?.localDescription === "offer",
      5_000,
    );
    expect(ready.made[0]?.connection).toBe("closed");
    expect(ready.offers).toBe(2);

    await connect(page);
    // The call runs on the connection prepared after the failure, not on one the click built;
    // the third is its own successor, prepared once its session has begun.
    const used = await until(
      () => peersOf(page),
      ({ made }) => made.length === 3 && made[2]?.localDescription === "offer",
    );
    expect(used.made.map((pc) => pc.connection)).toEqual(["closed", "connected", "new"]);
    expect(used.offers).toBe(3);
  });

  it("a reload and an immediate Connect reuse the secret the page had prefetched", async () => {
    const page = await app.openApp();
    await page.waitForSelector("#token-fetches:text-is('1')", { state: "attached" });
    await page.reload();
    await page.waitForSelector('#auth-status[data-auth="anonymous"]');
    const reloadedAt = Date.now();
    await connect(page);
    expect(Date.now() - reloadedAt).toBeLessThan(5_000);
    // Nothing minted after the reload (the e2e project's per-user interval is 60 s).
    expect(await text(page, "#token-fetches")).toBe("0");
    expect(await page.locator("#banner").isHidden()).toBe(true);
  });

  it("a second tab of the same user connects too, on the first tab's secret", async () => {
    const first = await app.openApp();
    await connect(first);
    const second = await app.openApp("", first.context());
    await connect(second);
    expect(await text(second, "#token-fetches")).toBe("0");
    expect(await first.getAttribute("#state", "data-state")).toBe("connected");
  });

  it("OpenAI vanishing mid-call: the page says so within seconds, marks the unsent message, and reconnects by itself", async () => {
    const page = await app.openApp();
    await connect(page);
    const callId = await text(page, "#call-id");
    const states = await recordStates(page, "full");
    const lag = await meterLag(page);
    // When the page showed each step, on its own clock: what the test process and Playwright
    // take to notice (on a loaded machine, a second or more) is not the page's delay.
    await page.evaluate(() => {
      const element = document.querySelector<HTMLElement>("#state");
      if (!element) throw new Error("no #state");
      const seenAt: { stalled?: number; reconnecting?: number } = {};
      Object.assign(window, { __seenAt: seenAt });
      new MutationObserver(() => {
        if (element.dataset.link === "stalled") seenAt.stalled ??= performance.now();
        if (element.dataset.state === "reconnecting") seenAt.reconnecting ??= performance.now();
      }).observe(element, { attributes: true });
    });
    await standin.control(`/_standin/calls/${callId}/vanish`);
    // Taken once the stand-in's sockets are closed: a little after the vanish, never before.
    const vanishedAt = await page.evaluate(() => performance.now());
    await page.fill("#text-input", "Are you still there?");
    await page.click("#send-text");
    const entry = page.locator('[data-testid="transcript-entry"][data-role="user"]');
    expect(await entry.getAttribute("data-status")).toBe("sending");

    await page.waitForSelector('#state[data-link="stalled"]', { state: "attached" });
    const lagAtStall = await lag();
    expect(await text(page, "#state")).toMatch(/interrupted/i);
    await page
      .waitForSelector('#state[data-state="reconnecting"]', { state: "attached", timeout: 15_000 })
      .catch(async (error: unknown) => {
        throw new Error(`${String(error)}; states ${(await states()).join(" → ")}`);
      });
    const lagAtClose = await lag();
    const seenAt = await page.evaluate(
      () =>
        (window as unknown as { __seenAt: { stalled?: number; reconnecting?: number } }).__seenAt,
    );
    const stalledAfter = Math.round((seenAt.stalled ?? Infinity) - vanishedAt);
    const closedAfter = Math.round((seenAt.reconnecting ?? Infinity) - vanishedAt);
    const seen =
      `states ${(await states()).join(" → ")}; stalled after ${stalledAfter} ms, closed after ` +
      `${closedAfter} ms; page timers late by ${lagAtClose} ms`;
    // The page's own link watch noticed, not ICE or the data channel giving up.
    expect(await page.getAttribute("#state", "data-reason"), seen).toBe("unresponsive");
    // Stalled 3 s after the last packet (checked every second), closed 8 s after it. ICE alone
    // took 10.8 s here (disconnected at 5.5 s, then its grace period). Time the page's timers
    // ran late (a loaded machine; another checkout's suites beside this one) is not the page's
    // doing, and is not counted.
    expect(stalledAfter - lagAtStall, seen).toBeLessThan(5_000);
    expect(closedAfter - lagAtClose, seen).toBeLessThan(10_000);
    expect(await entry.getAttribute("data-status")).toBe("not-delivered");

    await page.waitForSelector('#state[data-state="connected"]', { state: "attached" });
    expect(await text(page, "#call-id")).not.toBe(callId);
    expect(await page.locator("#banner").isHidden()).toBe(true);
    // The unsent message stays marked in the transcript; the new call was not given it.
    expect(await entry.getAttribute("data-status")).toBe("not-delivered");
    expect(await page.locator("#banner").isHidden()).toBe(true);
  });
});
