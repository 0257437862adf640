/**
 * The page's layout at 360, 768, 1280 and 1600 px, in each mode (secret, brokered Realtime,
 * brokered GPT-Live), in each state a person sees:
 * signed out (no choice labels yet), idle (the server's choice labels loaded), each picker
 * showing its longest label, connecting, connected (brokered: with the countdown and the
 * last-minute warning; secret: push-to-talk, with the talk button, then holding it), a call
 * ended at the server's deadline (brokered and Live: 12 s calls, functions/.env.demo-realtime-e2e) and
 * a refused call. At each width and state nothing sticks
 * out of its panel, the page does not scroll sideways and the countdown shows whole
 * (e2e/layout.ts); a screenshot of each is written to e2e/artifacts/layout/ (gitignored) as
 * `<mode>-<width>-<state>.png`.
 */
import type { Page, Route } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { freshArtifacts, problemsAtEveryWidth } from "./layout.js";
import { APP_URL, standin, useAppBrowser } from "./stack.js";

/** functions/.env.demo-realtime-e2e: MAX_CALL_SECONDS. */
const SLICE_SECONDS = 12;

/** The page's modes (`?mode=`); `live` is brokered mode speaking GPT-Live. */
type Mode = "secret" | "brokered" | "live";

const app = useAppBrowser();
beforeAll(freshArtifacts);

/** Holds the page's call request (the one a Connect sends) until `release` is called. */
async function holdCallRequest(
  page: Page,
  mode: Mode,
): Promise<{ held: Promise<void>; release: () => Promise<void> }> {
  let release: () => Promise<void> = () => Promise.resolve();
  const matches = (url: URL) =>
    mode === "secret"
      ? url.pathname.endsWith("/v1/realtime/calls")
      : url.pathname.endsWith("/realtimeCall");
  const held = new Promise<void>((resolve) => {
    const handler = async (route: Route) => {
      const request = route.request();
      // The brokered page's prepare requests (on load, on hovering Connect) go through.
      const prepare =
        mode !== "secret" &&
        (request.postDataJSON() as { data?: { prepare?: unknown } } | null)?.data?.prepare === true;
      if (request.method() !== "POST" || prepare) {
        await route.continue();
        return;
      }
      release = async () => {
        await route.continue();
        await page.unroute(matches, handler);
      };
      resolve();
    };
    void page.route(matches, handler);
  });
  return { held, release: () => release() };
}

/**
 * Shows the last-minute warning even when the page would not (e.g. a call shorter than a
 * minute): the layout must hold with it.
 */
async function showWarning(page: Page): Promise<() => Promise<void>> {
  if (await page.isVisible("#call-warning")) return async () => {};
  const tag = await page.addStyleTag({
    content: "#call-warning[hidden] { display: block !important; }",
  });
  // Only for the connected state: later states' screenshots show what the page shows.
  return () => tag.evaluate((element) => (element as Element).remove());
}

async function checkLayout(mode: Mode): Promise<void> {
  const problems: string[] = [];
  const context = await app.newContext();
  const page = await context.newPage();

  // Signed out: guest sign-in fails, so no choice labels arrive either.
  const signUp = (url: URL) => url.pathname.endsWith("/accounts:signUp");
  await page.route(signUp, (route) => route.abort());
  // Secret mode's session is push-to-talk: its talk button is in the column too.
  const talk = mode === "secret" ? "&turnDetection=push_to_talk" : "";
  await page.goto(`${APP_URL}?mode=${mode}${talk}`);
  await page.waitForSelector('#auth-status[data-auth="error"]');
  problems.push(...(await problemsAtEveryWidth(page, mode, "signed-out")));
  await page.unroute(signUp);

  // Idle, signed in, with the server's choice labels.
  await page.reload();
  await page.waitForSelector('#auth-status[data-auth="anonymous"]');
  await page.waitForFunction(
    () =>
      (document.querySelector("#turn-detection option")?.textContent ?? "Default") !== "Default",
  );
  problems.push(...(await problemsAtEveryWidth(page, mode, "idle")));
  expect(await page.textContent("#transcript-empty")).toBe(
    mode === "live"
      ? "Press Connect and say hello."
      : "Press Connect and say hello, or type below.",
  );
  // Each picker showing its longest label. No change event: the page reads the pickers at the
  // next Connect (by then restored), and a change would fetch a secret for the new choice.
  const picked = await page.evaluate(() =>
    Array.from(document.querySelectorAll("select")).map((select) => {
      const before = select.value;
      const longest = Array.from(select.options).reduce((a, b) =>
        b.text.length > a.text.length ? b : a,
      );
      select.value = longest.value;
      return { id: select.id, before, shown: longest.text };
    }),
  );
  expect(picked.map((p) => p.shown)).toContain("Semantic (knows when you're done)");
  problems.push(...(await problemsAtEveryWidth(page, mode, "long-labels")));
  await page.evaluate((restore) => {
    for (const { id, before } of restore) {
      (document.getElementById(id) as HTMLSelectElement).value = before;
    }
  }, picked);

  // Connecting: the call request held until every width is measured.
  const hold = await holdCallRequest(page, mode);
  await page.click("#connect");
  await hold.held;
  await page.waitForSelector('#state[data-state="connecting"]');
  problems.push(...(await problemsAtEveryWidth(page, mode, "connecting")));
  await hold.release();

  // Connected: brokered (and Live) with the countdown and the last-minute warning.
  await page.waitForSelector('#state[data-state="connected"]');
  // Live has no client event to stop a response or add typed text, no speech start or stop
  // events for the speaking lights, and bills seconds, not tokens: none of those is shown.
  const realtime = mode !== "live";
  expect(await page.isVisible("#interrupt")).toBe(realtime);
  expect(await page.isVisible("#text-form")).toBe(realtime);
  expect(await page.isVisible("#speakers")).toBe(realtime);
  expect(await page.isVisible("#usage-input-tokens")).toBe(realtime);
  expect(await page.isVisible("#usage-seconds")).toBe(!realtime);
  if (mode !== "secret") {
    await page.waitForSelector("#call-clock", { state: "visible" });
    expect(await page.textContent("#call-clock")).toMatch(/^\d+:\d\d left$/);
    const hideWarning = await showWarning(page);
    problems.push(...(await problemsAtEveryWidth(page, mode, "connected")));
    await hideWarning();
  } else {
    await page.waitForSelector("#talk", { state: "visible" });
    problems.push(...(await problemsAtEveryWidth(page, mode, "connected")));
  }

  if (mode !== "secret") {
    await page.waitForSelector('#banner[data-kind="ended-call-limit"]', {
      state: "visible",
      timeout: SLICE_SECONDS * 1000 + 15_000,
    });
    problems.push(...(await problemsAtEveryWidth(page, mode, "ended")));
  } else {
    // Talking: the talk button held (Space), in its pressed colours.
    await page.keyboard.down("Space");
    await page.waitForSelector('#talk[aria-pressed="true"]');
    problems.push(...(await problemsAtEveryWidth(page, mode, "talking")));
    await page.keyboard.up("Space");
    await page.click("#disconnect");
    await page.waitForSelector('#state[data-state="idle"]');
  }

  // Refused: upstream answers 503 (more times than the function's SDK retries).
  await standin.fault({
    route: mode === "live" ? "live_sessions" : "calls",
    kind: "status",
    status: 503,
    count: 5,
  });
  try {
    const endedKind = await page.getAttribute("#banner", "data-kind");
    await page.click("#connect");
    await page.waitForFunction(
      (before) => {
        const banner = document.getElementById("banner");
        return banner !== null && !banner.hidden && banner.dataset.kind !== before;
      },
      endedKind,
      { timeout: 30_000 },
    );
  } finally {
    await standin.clearFaultsAndLimits();
  }
  problems.push(...(await problemsAtEveryWidth(page, mode, "refused")));
  // The refused call's own count, not the last call's (as its cost shows "–").
  if (mode === "live") expect(await page.textContent("#usage-seconds")).toBe("0");

  await context.close();
  expect(problems).toEqual([]);
}

describe("the page's layout at 360, 768, 1280 and 1600 px", () => {
  it("secret mode: every control inside its panel, no sideways scroll, in every state", () =>
    checkLayout("secret"));

  it("brokered mode: the same, and the countdown whole, in every state", () =>
    checkLayout("brokered"));

  it("GPT-Live (brokered): the same, without the controls Live has no event for", () =>
    checkLayout("live"));
});
