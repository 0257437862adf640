/**
 * The product as a user meets it: Debian's Chromium with a fake microphone, the web app served
 * by the Hosting emulator, the Auth and Functions emulators, Firestore, and the OpenAI stand-in
 * over real WebRTC. Each test asserts what the page shows and what the stand-in received.
 */
import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  connect,
  recordServerEvents,
  serverEvents,
  standin,
  until,
  useAppBrowser,
} from "./stack.js";

const INTERVAL_SECONDS = 60; // functions/.env.demo-realtime-e2e

const app = useAppBrowser();

/** A fresh browser profile (so a fresh anonymous user) on the app, signed in. */
async function openApp(
  query = "",
  context?: BrowserContext,
): Promise<{ page: Page; context: BrowserContext }> {
  if (context === undefined) {
    context = await app.newContext();
    // Every `error` event the server sends on the data channel (with its code), and the events
    // that tell whether a response is still there to interrupt.
    await recordServerEvents(context, [
      "error",
      "response.created",
      "response.done",
      "output_audio_buffer.stopped",
    ]);
    // Remember every microphone track the page gets, to check that Disconnect releases them.
    await context.addInitScript(() => {
      const media = navigator.mediaDevices;
      const original = media.getUserMedia.bind(media);
      const tracks: MediaStreamTrack[] = [];
      Object.assign(window, { __micTracks: tracks });
      media.getUserMedia = async (constraints) => {
        const stream = await original(constraints);
        tracks.push(...stream.getTracks());
        return stream;
      };
    });
  }
  const page = await app.openApp(query, context);
  return { page, context };
}

async function sendText(page: Page, text: string): Promise<number> {
  await page.fill("#text-input", text);
  const sentAt = Date.now();
  await page.click("#send-text");
  return sentAt;
}

const INTERRUPTS = 30;

/**
 * Clicks Interrupt `moment` ms after the page received the `response.created` of its
 * `index`-th response, timed in the page. Returns whether that response was still generating
 * or playing at the click: read in the same task as the click, from the events the page had
 * received (the recorder sees each before the app does).
 */
function clickInterruptAt(page: Page, index: number, moment: number): Promise<boolean> {
  return page.evaluate(
    ([i, ms]) =>
      new Promise<boolean>((resolve, reject) => {
        type Event = { response?: { id?: string }; response_id?: string };
        const events = (window as unknown as { __serverEvents: Record<string, Event[]> })
          .__serverEvents;
        const button = document.querySelector<HTMLButtonElement>("#interrupt");
        if (!button) return reject(new Error("no #interrupt"));
        const click = (id: string) => {
          const done = (events["response.done"] ?? []).some((e) => e.response?.id === id);
          const stopped = (events["output_audio_buffer.stopped"] ?? []).some(
            (e) => e.response_id === id,
          );
          button.click();
          resolve(!(done && stopped));
        };
        const giveUpAt = performance.now() + 30_000;
        const waitForCreated = () => {
          const id = events["response.created"]?.[i]?.response?.id;
          if (id !== undefined) setTimeout(() => click(id), ms);
          else if (performance.now() > giveUpAt) reject(new Error(`no response.created #${i}`));
          else setTimeout(waitForCreated, 5);
        };
        waitForCreated();
      }),
    [index, moment] as const,
  );
}

/** A small seeded PRNG (mulberry32): the interrupt moments of a run can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const bytesIn = async (page: Page) => Number(await page.getAttribute("#bytes-in", "data-bytes"));

function entries(page: Page) {
  return page.$$eval('[data-testid="transcript-entry"]', (els) =>
    els.map((el) => ({
      role: el.getAttribute("data-role"),
      status: el.getAttribute("data-status"),
      text: el.textContent ?? "",
    })),
  );
}

describe("the voice app in Chromium", () => {
  it("connects: session.created, assistant audio into the page, mic audio into the stand-in", async () => {
    const { page } = await openApp();
    await connect(page);
    expect(await page.textContent("#model")).toContain("gpt-realtime-2");
    expect((await standin.callOf(page)).eventsSent[0]).toBe("session.created");

    await sendText(page, "Say something");
    await until(
      () => bytesIn(page),
      (bytes) => bytes > 0,
    );
    const snapshot = await until(
      () => standin.callOf(page),
      (c) => c.rtpPacketsIn > 0,
    );
    expect(snapshot.rtpPacketsOut).toBeGreaterThan(0);
    expect(snapshot.state).toBe("connected");
  });

  it("answers a typed message in the live transcript", async () => {
    const { page } = await openApp();
    await connect(page);
    await sendText(page, "Hello from the end-to-end suite");
    const log = await until(
      () => entries(page),
      (list) => list.some((e) => e.role === "assistant" && e.status === "done"),
    );
    expect(log.find((e) => e.role === "user")?.text).toContain("Hello from the end-to-end suite");
    expect(log.find((e) => e.role === "assistant")?.text).toContain(
      'You said: "Hello from the end-to-end suite"',
    );
    const received = (await standin.callOf(page)).eventsReceived;
    expect(received).toContain("conversation.item.create");
    expect(received).toContain("response.create");
    expect(await page.getAttribute("#transcript", "aria-live")).toBe("polite");
  });

  it("interrupts a long answer: cancel, clear and a truncate no longer than what was played", async () => {
    const { page } = await openApp();
    await connect(page);
    const sentAt = await sendText(page, "Tell me a long story");
    await page.waitForSelector('#assistant-speaking[data-active="true"]', { state: "attached" });
    await page.waitForTimeout(700);
    const clickedAt = Date.now();
    await page.click("#interrupt");

    const snapshot = await until(
      () => standin.callOf(page),
      (c) => c.truncations.length > 0 && c.eventsSent.includes("output_audio_buffer.cleared"),
    );
    const received = snapshot.eventsReceived;
    const cancel = received.indexOf("response.cancel");
    const clear = received.indexOf("output_audio_buffer.clear");
    const truncate = received.indexOf("conversation.item.truncate");
    expect(cancel).toBeGreaterThan(-1);
    expect(clear).toBeGreaterThan(cancel);
    expect(truncate).toBeGreaterThan(clear);
    const [truncation] = snapshot.truncations;
    expect(truncation?.audioEndMs).toBeGreaterThan(0);
    // Never more than the stand-in sent, nor than could have played since the message went out.
    expect(truncation?.audioEndMs).toBeLessThanOrEqual(snapshot.audioMsSent);
    expect(truncation?.audioEndMs).toBeLessThanOrEqual(clickedAt - sentAt);
    expect(snapshot.eventsSent).not.toContain("error");

    // The audio stops: nothing more is sent once the buffer was cleared.
    const sentThen = snapshot.audioMsSent;
    await page.waitForTimeout(800);
    expect((await standin.callOf(page)).audioMsSent).toBe(sentThen);
    await page.waitForSelector('#assistant-speaking[data-active="false"]', { state: "attached" });
    const log = await entries(page);
    expect(log.find((e) => e.role === "assistant")?.status).toBe("interrupted");
  });

  it("interrupts 30 times at random moments, never truncating past the audio sent", async () => {
    const { page } = await openApp();
    await connect(page);
    // Reproducible: a failing run prints its seed; E2E_INTERRUPT_SEED replays it.
    const seed = Number(process.env.E2E_INTERRUPT_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const random = mulberry32(seed);
    const count = (list: string[], type: string) => list.filter((t) => t === type).length;
    const moments: number[] = [];
    // Whether each click still found its response generating or playing: a click that a
    // loaded machine delivers after the answer had played out has nothing to interrupt.
    const live: boolean[] = [];
    for (let i = 0; i < INTERRUPTS; i++) {
      await sendText(page, `Tell me story number ${i + 1}`);
      // Anywhere in the 3 s answer: while it is generated, once it is done but still playing
      // (short of its end). Timed in the page from its receipt of `response.created`, so no
      // test-to-browser round trip adds to the moment.
      const moment = Math.floor(random() * 2_600);
      moments.push(moment);
      live.push(await clickInterruptAt(page, i, moment));
      await until(
        () => standin.callOf(page),
        (c) => count(c.eventsSent, "response.done") > i,
      );
      await page.waitForSelector('#assistant-speaking[data-active="false"]', {
        state: "attached",
      });
    }
    const snapshot = await standin.callOf(page);
    const context = `seed ${seed}, moments ${moments.join(", ")} ms, live ${live.join(", ")}`;
    const liveClicks = live.filter(Boolean).length;
    // Not vacuous: nearly every click lands inside its answer, even on a loaded machine.
    expect(liveClicks, context).toBeGreaterThanOrEqual(INTERRUPTS - 5);
    const serverErrors = (
      await serverEvents<{ error: { code?: string; event_id?: string } }>(page, "error")
    ).map((event) => event.error);
    // The one error a client cannot avoid: a cancel that crossed the end of its response's
    // generation (upstream answers it the same way). It must answer the app's own cancel.
    const raced = serverErrors.filter(
      (e) => e.code === "response_cancel_not_active" && e.event_id?.startsWith("cancel_"),
    );
    expect(
      serverErrors.filter((e) => !raced.includes(e)),
      context,
    ).toEqual([]);
    expect(count(snapshot.eventsSent, "error"), context).toBe(raced.length);
    expect(count(snapshot.eventsReceived, "output_audio_buffer.clear"), context).toBe(liveClicks);
    // Every truncate the app sent was accepted (an interrupt before the audio started sends
    // none), and none claims more of its answer than had been sent.
    const truncatesSent = count(snapshot.eventsReceived, "conversation.item.truncate");
    expect(snapshot.truncations.length, context).toBe(truncatesSent);
    expect(truncatesSent, context).toBeGreaterThanOrEqual(
      moments.filter((m, i) => m >= 300 && live[i]).length,
    );
    for (const truncation of snapshot.truncations)
      expect(truncation.audioEndMs, context).toBeLessThanOrEqual(truncation.sentMs);
    expect(await page.isVisible("#banner"), context).toBe(false);
    console.log(
      `${INTERRUPTS} interrupts (${context}); cancels crossing the end of generation: ` +
        `${raced.length}; audio_end_ms − audio sent, ms: ` +
        snapshot.truncations.map((t) => t.audioEndMs - t.sentMs).join(", "),
    );
  }, 180_000);

  it("runs the demo tool and shows its result in the transcript", async () => {
    const { page } = await openApp();
    await connect(page);
    await sendText(page, "Please use get local time");
    const log = await until(
      () => entries(page),
      (list) =>
        list.some((e) => e.role === "tool" && e.status === "done") &&
        list.filter((e) => e.role === "assistant").some((e) => e.status === "done"),
    );
    const tool = log.find((e) => e.role === "tool");
    expect(tool?.text).toContain("get_local_time");
    const answer = log.filter((e) => e.role === "assistant").at(-1);
    // The stand-in quotes the tool's output, which carries the browser's clock.
    expect(answer?.text).toMatch(/\d{1,2}:\d{2}/);
    const received = (await standin.callOf(page)).eventsReceived;
    const output = received.lastIndexOf("conversation.item.create");
    expect(received.indexOf("response.create", output)).toBeGreaterThan(output);
  });

  it("shows the rate limit, with the seconds to wait, on a second Connect inside the window", async () => {
    const first = await openApp();
    await connect(first.page);
    // A second tab of the same profile: the same user. It may use the first tab's secret, but
    // another voice needs a secret of its own, which the per-user interval refuses.
    const second = await openApp("", first.context);
    await second.page.waitForSelector('#voice option[value="cedar"]', { state: "attached" });
    await second.page.selectOption("#voice", "cedar");
    await second.page.click("#connect");
    const banner = await second.page.waitForSelector('#banner[data-kind="token-rate-limited"]');
    const message = (await banner.textContent()) ?? "";
    const seconds = Number(/(\d+)\s*s\b/.exec(message)?.[1]);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(INTERVAL_SECONDS);
    expect(await second.page.getAttribute("#state", "data-state")).not.toBe("connected");
  });

  it("says clearly when the app has no App Check token", async () => {
    const { page } = await openApp("?appCheck=off");
    await page.click("#connect");
    const banner = await page.waitForSelector('#banner[data-kind="token-app-check"]');
    expect(await banner.textContent()).toMatch(/App Check/i);
    expect(await page.getAttribute("#state", "data-state")).not.toBe("connected");
  });

  it("releases the microphone on Disconnect and reconnects on the cached secret", async () => {
    const { page } = await openApp();
    await connect(page);
    const fetches = await page.textContent("#token-fetches");
    await page.click("#disconnect");
    await page.waitForSelector('#state[data-state="idle"]', { state: "attached" });
    const tracks = await page.evaluate(() =>
      (window as unknown as { __micTracks: MediaStreamTrack[] }).__micTracks.map(
        (t) => t.readyState,
      ),
    );
    expect(tracks.length).toBeGreaterThan(0);
    expect(tracks.every((state) => state === "ended")).toBe(true);

    await connect(page);
    expect(await page.textContent("#token-fetches")).toBe(fetches);
    expect((await page.textContent("#token-source"))?.trim()).toBe("cache");
  });
});
