/**
 * Reconnect with context, in Chromium against the whole stack: the stand-in drops a live call
 * (vanishes, or ends it at a short session cap, or hangs it up and refuses new calls), and the
 * page opens a new call on its own, replays the conversation into it before the user's next
 * turn (the stand-in's record of the new call's items shows it, and its answer to "what did I
 * say" quotes the earlier message), or gives up after its tries with a message and a button
 * that works once calls are accepted again. In brokered mode also: a reconnect refused because
 * the day's minutes are spent (the budget's banner, nothing further tried), and Disconnect
 * while the reconnect's `realtimeCall` is on its way (the stand-in's `delay` fault holds it).
 */
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { FieldValue } from "firebase-admin/firestore";
import { docId } from "../functions/src/firestoreOps.js";
import { dayField } from "../functions/src/policy.js";
import { VOICE_USERS } from "../functions/src/minuteStore.js";
import {
  adminFirestore,
  type BrokeredCallsSeen,
  callRecord,
  recordStates,
  standin,
  standinUrl,
  until,
  useAppBrowser,
  watchBrokeredCalls,
} from "./stack.js";

const app = useAppBrowser();

afterEach(async () => {
  // A page left open would go on reconnecting into the next test's faults.
  await app.closeContexts();
  await standin.clearFaultsAndLimits();
});

async function connect(page: Page): Promise<string> {
  await page.click("#connect");
  return connected(page);
}

/** Waits for a live call (other than `notCall`) whose session has begun; returns its id. */
async function connected(page: Page, notCall?: string, timeout = 30_000): Promise<string> {
  if (notCall !== undefined) {
    await page.waitForFunction(
      (old) => (document.querySelector("#call-id")?.textContent ?? "").trim() !== old,
      notCall,
      { timeout },
    );
  }
  await page.waitForSelector('#state[data-state="connected"]', { state: "attached", timeout });
  await page.waitForSelector('#session-id[data-created="true"]', { state: "attached", timeout });
  const id = ((await page.textContent("#call-id")) ?? "").trim();
  expect(id).toMatch(/^rtc_/);
  if (notCall !== undefined) expect(id).not.toBe(notCall);
  return id;
}

function entries(page: Page) {
  return page.$$eval('[data-testid="transcript-entry"]', (els) =>
    els.map((el) => ({
      role: el.getAttribute("data-role"),
      status: el.getAttribute("data-status"),
      text: (el.querySelector(".turn-text")?.textContent ?? "").trim(),
    })),
  );
}

/** Types a message and waits for the assistant's answer to it to finish; returns the answer. */
async function ask(page: Page, text: string): Promise<string> {
  const answered = (await entries(page)).filter(
    (e) => e.role === "assistant" && e.status === "done",
  ).length;
  await page.fill("#text-input", text);
  await page.click("#send-text");
  const deadline = Date.now() + 20_000;
  for (;;) {
    const done = (await entries(page)).filter((e) => e.role === "assistant" && e.status === "done");
    if (done.length > answered) return done.at(-1)?.text ?? "";
    if (Date.now() > deadline) throw new Error(`no answer to "${text}"`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const FIRST = "My code word is tangerine.";

/**
 * What the new call holds once the user asked "What did I say?": the replayed exchange first,
 * each item once, then the question, and exactly one response (the question's): the replay
 * asked for none.
 */
async function expectRestored(page: Page, newCall: string): Promise<void> {
  const answer = await ask(page, "What did I say?");
  expect(answer).toContain(`Earlier you said: "${FIRST}"`);
  const snapshot = await standin.call(newCall);
  const items = snapshot.items.map((item) => [item.role, item.text]);
  expect(items.slice(0, 3)).toEqual([
    ["user", FIRST],
    ["assistant", `You said: "${FIRST}"`],
    ["user", "What did I say?"],
  ]);
  expect(items.filter(([, text]) => text === FIRST)).toHaveLength(1);
  expect(snapshot.eventsReceived.filter((type) => type === "response.create")).toHaveLength(1);
  // The replay went out before the user's turn.
  const creates = snapshot.eventsReceived.indexOf("conversation.item.create");
  expect(creates).toBeGreaterThanOrEqual(0);
  expect(creates).toBeLessThan(snapshot.eventsReceived.indexOf("response.create"));
  // The transcript keeps the whole conversation in view.
  const log = await entries(page);
  expect(log.map((e) => e.text)).toEqual([
    FIRST,
    `You said: "${FIRST}"`,
    "What did I say?",
    `Earlier you said: "${FIRST}"`,
  ]);
}

describe("reconnect with context", () => {
  it("OpenAI vanishing mid-call: Reconnecting…, a new call, and the earlier exchange reaches it", async () => {
    const page = await app.openApp();
    const first = await connect(page);
    expect(await ask(page, FIRST)).toContain(`You said: "${FIRST}"`);
    const fetchesBefore = ((await page.textContent("#token-fetches")) ?? "").trim();

    const states = await recordStates(page, "full");
    await standin.control(`/_standin/calls/${first}/vanish`);
    const second = await connected(page, first);
    expect(await states()).toEqual([
      "connected|stalled||Connection interrupted…",
      "reconnecting|ok|unresponsive|Reconnecting… (attempt 1 of 5)",
      "connected|ok||Connected — start talking",
    ]);
    expect(await page.locator("#banner").isHidden()).toBe(true);
    // The secret the page still held opened the new call: no new mint.
    expect(((await page.textContent("#token-fetches")) ?? "").trim()).toBe(fetchesBefore);
    expect((await standin.call(first)).endedReason).toBe("vanished");
    await expectRestored(page, second);
  });

  it("the session cap: the next call opens at once and the conversation goes on in it", async () => {
    await standin.control("/_standin/limits", { maxCallSeconds: 8 });
    const page = await app.openApp();
    const first = await connect(page);
    // Only this call is capped; the one after it runs normally.
    expect((await fetch(`${standinUrl()}/_standin/limits`, { method: "DELETE" })).status).toBe(200);
    expect(await ask(page, FIRST)).toContain(`You said: "${FIRST}"`);

    const second = await connected(page, first);
    const ended = await standin.call(first);
    expect(ended.endedReason).toBe("max_duration");
    expect(ended.eventsSent).toContain("error");
    const opened = await standin.call(second);
    // Straight from one call to the next: no backoff at the cap.
    expect(opened.startedAt - (ended.endedAt ?? 0)).toBeLessThan(2_000);
    expect(await page.getAttribute("#state", "data-reason")).toBe("");
    await expectRestored(page, second);
  });

  it("calls refused: bounded tries, a clear message, and Try again works once calls are accepted", async () => {
    const page = await app.openApp();
    const first = await connect(page);
    expect(await ask(page, FIRST)).toContain(`You said: "${FIRST}"`);
    const postsBefore = (await standin.state()).requests.calls;

    await standin.fault({ route: "calls", kind: "status", status: 503, count: 5 });
    // OpenAI hangs up (as at its own cap or on a server's hangup call): the channel closes.
    await standin.hangUp(first);
    await page.waitForSelector('#state[data-state="reconnecting"][data-reason="channel-closed"]', {
      state: "attached",
    });
    await page.waitForSelector("#state:text-is('Reconnecting… (attempt 3 of 5)')", {
      state: "attached",
      timeout: 15_000,
    });
    const banner = await page.waitForSelector('#banner[data-kind="reconnect-failed"]', {
      timeout: 45_000,
    });
    expect(await page.getAttribute("#state", "data-state")).toBe("closed");
    const message = ((await banner.textContent()) ?? "").trim();
    expect(message).toContain("The call dropped and 5 tries to reconnect failed.");
    expect(message).toContain("Press Try again");
    expect(((await page.textContent("#banner-action")) ?? "").trim()).toBe("Try again");
    // Bounded: five refused tries and no more, however long one waits.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await standin.state()).requests.calls).toBe(postsBefore + 5);
    expect(await page.getAttribute("#state", "data-state")).toBe("closed");

    // The fault is spent: calls are accepted again.
    await page.click("#banner-action");
    const second = await connected(page, first);
    expect(await page.locator("#banner").isHidden()).toBe(true);
    await expectRestored(page, second);
  });
});

/** functions/.env.demo-realtime-e2e: MAX_CALL_SECONDS; DAILY_VOICE_MINUTES is the default 30. */
const SLICE_SECONDS = 12;
const DAY_SECONDS = 30 * 60;

/**
 * After a reconnect: the dropped call `first` was ended on the server once (by the page, or by
 * its deadline task if that came first: `already-ended`, the whole slice used), and the page
 * ends up showing the day's minutes less what the dropped call used and the new call's slice.
 * The end answers before the new call is reserved unless it takes over HANG_UP_WAIT_MS (a cold
 * emulator worker can); either way the last answer carries the final figure. Returns the
 * seconds the dropped call was charged.
 */
async function expectMinutesAfterReconnect(
  page: Page,
  brokered: BrokeredCallsSeen,
  first: string,
): Promise<number> {
  const deadline = Date.now() + 15_000;
  while (brokered.ended.length === 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(brokered.ended.map((e) => e.request)).toEqual([
    { callId: first, endedAfterSeconds: expect.any(Number) },
  ]);
  const result = brokered.ended[0]?.result;
  expect(["ended", "already-ended"]).toContain(result?.outcome);
  const used = result?.usedSeconds ?? SLICE_SECONDS;
  const expected = DAY_SECONDS - used - SLICE_SECONDS;
  await page.waitForFunction(
    (seconds) => {
      const element = document.querySelector<HTMLElement>("#minutes-left");
      return element?.dataset.state === "known" && element.dataset.daySeconds === String(seconds);
    },
    expected,
    { timeout: 15_000 },
  );
  return used;
}

describe("reconnect with context, brokered calls", () => {
  it("OpenAI vanishing in a 12 s call: a drop, not the server's hang-up; the call is ended on the server and a new one opens under the minute budget", async () => {
    const page = await app.openApp("?mode=brokered");
    const brokered = watchBrokeredCalls(page);
    const first = await connect(page);
    const deadline = Number(await page.getAttribute("#call-clock", "data-ends-at"));
    expect(await ask(page, FIRST)).toContain(`You said: "${FIRST}"`);
    const postsBefore = (await standin.state()).requests.calls;

    const states = await recordStates(page, "full");
    const vanishedAt = Date.now();
    await standin.control(`/_standin/calls/${first}/vanish`);
    const second = await connected(page, first);
    // Noticed 8 s after the last packet, so close to the deadline; but the page last heard
    // from the server well before it: a loss, reconnected, not an end explained by a banner.
    expect(Date.now()).toBeGreaterThan(deadline - 5_000);
    expect(vanishedAt).toBeLessThan(deadline - 5_000);
    expect(await states()).toEqual([
      "connected|stalled||Connection interrupted…",
      "reconnecting|ok|unresponsive|Reconnecting… (attempt 1 of 5)",
      "connected|ok||Connected — start talking",
    ]);
    expect(await page.locator("#banner").isHidden()).toBe(true);
    expect((await standin.state()).requests.calls).toBe(postsBefore + 1);
    expect((await standin.call(first)).endedReason).toBe("vanished");
    expect(brokered.opened.map((o) => o.callId)).toEqual([first, second]);
    await expectMinutesAfterReconnect(page, brokered, first);

    await expectRestored(page, second);
  });

  it("OpenAI hangs up mid-call: the dropped call is ended on the server, a new brokered call opens under the minute budget, and the earlier exchange reaches it", async () => {
    const page = await app.openApp("?mode=brokered");
    const brokered = watchBrokeredCalls(page);
    const first = await connect(page);
    expect((await standin.call(first)).secret).toBeNull();
    expect(await ask(page, FIRST)).toContain(`You said: "${FIRST}"`);
    const postsBefore = (await standin.state()).requests.calls;

    const states = await recordStates(page, "full");
    // OpenAI ends the call (a crash on its side, a cut network): the channel closes, well before
    // the 12 s deadline, so the page takes it for a drop, not for the server's hang-up.
    await standin.hangUp(first);
    const second = await connected(page, first);
    expect(await states()).toEqual([
      "reconnecting|ok|channel-closed|Reconnecting… (attempt 1 of 5)",
      "connected|ok||Connected — start talking",
    ]);
    expect(await page.locator("#banner").isHidden()).toBe(true);

    // A second call through realtimeCall, opened by the function with the server's key.
    expect((await standin.state()).requests.calls).toBe(postsBefore + 1);
    expect((await standin.call(second)).secret).toBeNull();
    expect(await page.textContent("#token-fetches")).toBe("0");
    expect(brokered.opened.map((o) => o.callId)).toEqual([first, second]);

    // Ended by the page after the drop, not at its deadline: the unused seconds came back.
    const used = await expectMinutesAfterReconnect(page, brokered, first);
    expect(brokered.ended[0]?.result.outcome).toBe("ended");
    expect(used).toBeLessThan(SLICE_SECONDS);
    // The new call's countdown runs (its warning comes in its last fifth, ui/minutes.ts).
    expect(await page.getAttribute("#call-clock", "data-phase")).toMatch(/^(running|warning)$/);

    await expectRestored(page, second);
  });

  it("a reconnect refused because today's minutes are spent: the minutes banner with when they come back, not stuck in Reconnecting…, no further call", async () => {
    const page = await app.openApp("?mode=brokered");
    const brokered = watchBrokeredCalls(page);
    const first = await connect(page);
    const { uid } = await callRecord(page, first);
    // Meanwhile the user's other device spends the day's minutes: the increment a reservation
    // makes (functions/src/minuteStore.ts), of a whole day, so that even the dropped call's
    // unused seconds, handed back before the reconnect asks for a slice, leave none.
    await adminFirestore()
      .doc(`${VOICE_USERS}/${docId(uid)}`)
      .set({ [dayField(Date.now())]: FieldValue.increment(DAY_SECONDS) }, { merge: true });
    const postsBefore = (await standin.state()).requests.calls;

    const states = await recordStates(page, "full");
    const waitBefore = secondsToUtcMidnight();
    await standin.hangUp(first);
    const banner = await page.waitForSelector('#banner[data-kind="refused-daily-minutes"]', {
      timeout: 20_000,
    });
    const waitAfter = secondsToUtcMidnight();
    const message = ((await banner.textContent()) ?? "").trim();
    expect(message).toContain(
      "The call dropped and could not be reopened: You have used today's voice minutes.",
    );
    // When they come back: the time to the next UTC midnight, in whole minutes rounded up.
    const [, hours = "0", minutes = "0"] =
      /come back in (?:(\d+) h)? ?(?:(\d+) min)? \(midnight UTC\)\./.exec(message) ?? [];
    const shown = Number(hours) * 60 + Number(minutes);
    expect(shown).toBeGreaterThanOrEqual(Math.ceil(waitAfter / 60));
    expect(shown).toBeLessThanOrEqual(Math.ceil(waitBefore / 60));
    expect(await page.isHidden("#banner-action")).toBe(true);
    expect(await page.getAttribute("#state", "data-state")).toBe("closed");
    expect(await states()).toEqual([
      "reconnecting|ok|channel-closed|Reconnecting… (attempt 1 of 5)",
      "closed|ok|channel-closed|Disconnected",
    ]);
    // Nothing more is tried, however long one waits: one refused realtimeCall, no new call.
    await page.waitForTimeout(2_000);
    expect(await page.getAttribute("#state", "data-state")).toBe("closed");
    expect(brokered.refused).toEqual([
      { name: "realtimeCall", status: "RESOURCE_EXHAUSTED", reason: "daily-minutes" },
    ]);
    expect(brokered.opened.map((o) => o.callId)).toEqual([first]);
    expect((await standin.state()).requests.calls).toBe(postsBefore);
    // The dropped call was ended on the server before the reconnect asked, and the page shows
    // what the refusal said is left.
    expect(brokered.ended.map((e) => e.request)).toEqual([
      { callId: first, endedAfterSeconds: expect.any(Number) },
    ]);
    expect((await callRecord(page, first)).status).toBe("ended");
    expect(await page.getAttribute("#minutes-left", "data-day-seconds")).toBe("0");
    expect(await page.getAttribute("#minutes-left", "data-state")).toBe("known");
  });

  it("Disconnect while the reconnect's realtimeCall is on its way: idle, every call ended on the stand-in, and the server's minutes shown", async () => {
    const page = await app.openApp("?mode=brokered");
    const brokered = watchBrokeredCalls(page);
    const first = await connect(page);
    const { uid } = await callRecord(page, first);
    const { startedAt } = await standin.call(first);
    const postsBefore = (await standin.state()).requests.calls;

    // OpenAI takes 3 s to answer the reconnect's offer, then opens the call all the same.
    await standin.fault({ route: "calls", kind: "delay", ms: 3_000 });
    await standin.hangUp(first);
    await page.waitForSelector('#state[data-state="reconnecting"]', { state: "attached" });
    // The function has posted the reconnect's offer: its realtimeCall is on the way.
    await until(
      async () => (await standin.state()).requests.calls,
      (posts) => posts === postsBefore + 1,
    );
    await page.click("#disconnect");
    await page.waitForSelector('#state[data-state="idle"]', { state: "attached" });

    // The call OpenAI opened after the Disconnect is ended by the page, long before its
    // deadline: no call of this test is left running on the stand-in.
    const calls = await until(
      async () => (await standin.state()).calls.filter((c) => c.startedAt >= startedAt),
      (list) => list.length === 2 && list.every((c) => c.endedAt !== null),
    );
    const late = calls.find((c) => c.id !== first);
    expect(late?.endedReason).toBe("hangup");
    expect((late?.endedAt ?? 0) - (late?.startedAt ?? 0)).toBeLessThan(SLICE_SECONDS * 1000);
    await until(
      async () => brokered.ended.map((e) => e.request.callId),
      (ids) => ids.length === 2,
    );
    expect(brokered.ended.map((e) => e.request.callId)).toEqual([first, late?.id]);

    // The minutes the page shows are what the server has left after both calls.
    const used = Number(
      (
        await adminFirestore()
          .doc(`${VOICE_USERS}/${docId(uid)}`)
          .get()
      ).get(dayField(Date.now())),
    );
    expect(used).toBeGreaterThan(0);
    await page.waitForFunction(
      (seconds) => {
        const element = document.querySelector<HTMLElement>("#minutes-left");
        return element?.dataset.state === "known" && element.dataset.daySeconds === String(seconds);
      },
      DAY_SECONDS - used,
      { timeout: 10_000 },
    );
    // And it stays disconnected.
    expect(await page.getAttribute("#state", "data-state")).toBe("idle");
    expect(await page.isHidden("#banner")).toBe(true);
  });
});

/** Whole seconds from now to the next UTC midnight (when a day's voice minutes come back). */
function secondsToUtcMidnight(): number {
  const now = Date.now();
  const midnight = new Date(now);
  midnight.setUTCHours(24, 0, 0, 0);
  return Math.ceil((midnight.getTime() - now) / 1000);
}
