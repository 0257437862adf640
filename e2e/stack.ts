/**
 * The stack as the end-to-end files reach it (`npm run test:e2e`, scripts/browser-stack.ts):
 * the web app on the Hosting emulator, the OpenAI stand-in and its `/_standin/…` controls,
 * Chromium with a fresh profile (so a fresh anonymous user) per page, and Firestore through the
 * Admin SDK for what a test sets up behind the page's back. One home for what every file needs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type App, deleteApp, initializeApp } from "firebase-admin/app";
import { type Firestore, getFirestore } from "firebase-admin/firestore";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { docId } from "../functions/src/firestoreOps.js";
import { VOICE_USERS } from "../functions/src/minuteStore.js";
import type { CallSnapshot, StandinState } from "../standin/src/server.js";
import { launchChromium } from "./browser.js";

export type { CallSnapshot, StandinState };

const hostingPort = (
  JSON.parse(readFileSync(join(import.meta.dirname, "..", "firebase.json"), "utf8")) as {
    emulators: { hosting: { port: number } };
  }
).emulators.hosting.port;

/** The web app as the Hosting emulator serves it (firebase.json's port), ending in `/`. */
export const APP_URL = `http://127.0.0.1:${hostingPort}/`;

/** The project the stack runs (`--project`, demo-realtime-e2e by default). */
export const PROJECT_ID = process.env.GCLOUD_PROJECT ?? "demo-realtime-e2e";

/** The stand-in's origin, which `npm run test:e2e` passes as STANDIN_URL. */
export function standinUrl(): string {
  const url = process.env.STANDIN_URL;
  if (!url) throw new Error("STANDIN_URL is not set: run this suite with `npm run test:e2e`");
  return url;
}

/**
 * Polls `read` until `check` accepts its value and returns that value; after `timeoutMs`
 * throws with `describe(last value)` (by default its JSON, cut at 500 characters).
 */
export async function until<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 15_000,
  describe: (value: T) => string = (value) => `last value: ${JSON.stringify(value).slice(0, 500)}`,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; ${describe(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The OpenAI stand-in: what it saw (`GET /_standin/state`) and its test-only controls. */
export const standin = {
  async state(): Promise<StandinState> {
    return (await (await fetch(`${standinUrl()}/_standin/state`)).json()) as StandinState;
  },

  /** The stand-in's record of call `id`; throws when it has none. */
  async call(id: string): Promise<CallSnapshot> {
    const found = (await standin.state()).calls.find((c) => c.id === id);
    if (found === undefined) throw new Error(`the stand-in has no call ${id}`);
    return found;
  },

  /** The call the page shows in `#call-id` (checked to be an `rtc_` id), as the stand-in saw it. */
  async callOf(page: Page): Promise<CallSnapshot> {
    const id = (await page.textContent("#call-id"))?.trim() ?? "";
    expect(id).toMatch(/^rtc_/);
    return standin.call(id);
  },

  /** POSTs a control endpoint (`/_standin/…`) and checks it answered 200. */
  async control(path: string, body?: object): Promise<void> {
    const response = await fetch(`${standinUrl()}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(response.status).toBe(200);
  },

  /** Injects a fault (`POST /_standin/faults`; see standin/README.md for the kinds). */
  fault(body: object): Promise<void> {
    return standin.control("/_standin/faults", body);
  },

  /** Clears the injected faults and the call-length limit (idempotent). */
  async clearFaultsAndLimits(): Promise<void> {
    await fetch(`${standinUrl()}/_standin/faults`, { method: "DELETE" });
    await fetch(`${standinUrl()}/_standin/limits`, { method: "DELETE" });
  },

  /** Upstream ends call `id` itself (as on a server's hang-up request): its channel closes. */
  async hangUp(id: string): Promise<void> {
    const response = await fetch(`${standinUrl()}/v1/realtime/calls/${id}/hangup`, {
      method: "POST",
      headers: { Authorization: "Bearer sk-local-standin-not-a-real-key" },
    });
    expect(response.status).toBe(200);
  },
};

/** Options of {@link useAppBrowser}. */
export interface AppBrowserOptions {
  /** Extra Chromium flags. */
  args?: readonly string[];
  /** Makes the WAV the fake microphone loops (silence by default); called once, before all. */
  audioFile?: () => string;
}

/** Chromium for one test file, with the profiles its tests opened; see {@link useAppBrowser}. */
export interface AppBrowser {
  /** The browser (launched before the file's tests). */
  readonly browser: Browser;
  /** A fresh profile on `on` (this file's browser by default), closed with the others. */
  newContext(on?: Browser): Promise<BrowserContext>;
  /**
   * The app with `query` (e.g. `?mode=brokered`) in a new page of `context` (by default a new
   * profile, so a new user), once its anonymous user is signed in.
   */
  openApp(query?: string, context?: BrowserContext): Promise<Page>;
  /** Closes the profiles opened so far (e.g. after each test: an open page goes on calling). */
  closeContexts(): Promise<void>;
}

/**
 * Launches Chromium before the file's tests (checking that the stack is there) and closes it,
 * its profiles and the Admin SDK's app after them. Call at the top of a test file.
 */
export function useAppBrowser(options: AppBrowserOptions = {}): AppBrowser {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    standinUrl();
    browser = await launchChromium(options.args, options.audioFile?.());
  });
  afterAll(async () => {
    for (const context of contexts.splice(0)) await context.close().catch(() => undefined);
    await browser?.close();
    await closeAdmin();
  });

  const app: AppBrowser = {
    get browser(): Browser {
      if (browser === undefined) throw new Error("the browser starts in beforeAll");
      return browser;
    },
    async newContext(on?: Browser) {
      const context = await (on ?? app.browser).newContext();
      contexts.push(context);
      return context;
    },
    async openApp(query = "", context?: BrowserContext) {
      const page = await (context ?? (await app.newContext())).newPage();
      await page.goto(`${APP_URL}${query}`);
      await page.waitForSelector('#auth-status[data-auth="anonymous"]');
      return page;
    },
    async closeContexts() {
      for (const context of contexts.splice(0)) await context.close();
    },
  };
  return app;
}

/** Clicks Connect and waits for a live call whose session has begun. */
export async function connect(page: Page): Promise<void> {
  await page.click("#connect");
  await page.waitForSelector('#state[data-state="connected"]');
  await page.waitForSelector('#session-id[data-created="true"]', { state: "attached" });
}

/** The page's live call id (`#call-id`), checked to be an `rtc_` id. */
export async function callIdOf(page: Page): Promise<string> {
  const id = (await page.textContent("#call-id"))?.trim() ?? "";
  expect(id).toMatch(/^rtc_/);
  return id;
}

/**
 * Makes every page of `context` keep the server events of `types` that its data channels
 * receive, parsed, for {@link serverEvents} and {@link waitForServerEvents}. Only messages
 * that name one of the types are parsed, so a long answer's deltas cost nothing.
 */
export async function recordServerEvents(
  context: BrowserContext,
  types: readonly string[],
): Promise<void> {
  await context.addInitScript(
    (wanted: string[]) => {
      const events: Record<string, unknown[]> = Object.fromEntries(wanted.map((t) => [t, []]));
      Object.assign(window, { __serverEvents: events });
      const createDataChannel = RTCPeerConnection.prototype.createDataChannel;
      RTCPeerConnection.prototype.createDataChannel = function (
        this: RTCPeerConnection,
        ...args: Parameters<RTCPeerConnection["createDataChannel"]>
      ) {
        const channel = createDataChannel.apply(this, args);
        channel.addEventListener("message", (event: MessageEvent<unknown>) => {
          const data = event.data;
          if (typeof data !== "string" || !wanted.some((t) => data.includes(`"${t}"`))) return;
          const parsed = JSON.parse(data) as { type?: string };
          if (parsed.type !== undefined) events[parsed.type]?.push(parsed);
        });
        return channel;
      };
    },
    [...types],
  );
}

/** The server events of `type` the page has received so far (see {@link recordServerEvents}). */
export function serverEvents<T>(page: Page, type: string): Promise<T[]> {
  return page.evaluate(
    (name) =>
      (window as unknown as { __serverEvents: Record<string, unknown[]> }).__serverEvents[name] ??
      [],
    type,
  ) as Promise<T[]>;
}

/** Waits until the page has received more than `count` server events of `type`. */
export async function waitForServerEvents(page: Page, type: string, count: number): Promise<void> {
  await page.waitForFunction(
    ([name, n]) =>
      ((window as unknown as { __serverEvents: Record<string, unknown[]> }).__serverEvents[name]
        ?.length ?? 0) > n,
    [type, count] as const,
  );
}

/**
 * Records each change of the page's `#state` from now on; the returned function reads the
 * record, each line once. `state` records `data-state` alone; `full` records
 * `state|link|reason|words`.
 */
export async function recordStates(
  page: Page,
  detail: "state" | "full" = "state",
): Promise<() => Promise<string[]>> {
  await page.evaluate((full) => {
    const element = document.querySelector<HTMLElement>("#state");
    if (!element) throw new Error("no #state");
    const log: string[] = [];
    (window as unknown as { stateLog: string[] }).stateLog = log;
    const note = () => {
      const { state, link, reason } = element.dataset;
      const line = full
        ? `${state ?? ""}|${link ?? ""}|${reason ?? ""}|${element.textContent ?? ""}`
        : (state ?? "");
      if (log.at(-1) !== line) log.push(line);
    };
    new MutationObserver(note).observe(element, {
      attributes: true,
      childList: true,
      characterData: true,
      subtree: true,
    });
  }, detail === "full");
  return () => page.evaluate(() => (window as unknown as { stateLog: string[] }).stateLog);
}

/**
 * Starts measuring how late the page's timers run (a 100 ms interval's lateness, summed): time
 * a loaded machine took from every timer-driven check on the page alike. The returned function
 * reads the total so far, in ms.
 */
export async function meterLag(page: Page): Promise<() => Promise<number>> {
  await page.evaluate(() => {
    const meter = { lateMs: 0 };
    let last = performance.now();
    setInterval(() => {
      const now = performance.now();
      meter.lateMs += Math.max(0, now - last - 100);
      last = now;
    }, 100);
    Object.assign(window, { __lag: meter });
  });
  return () =>
    page.evaluate(() =>
      Math.round((window as unknown as { __lag: { lateMs: number } }).__lag.lateMs),
    );
}

/** The brokered callables' answers the page received, in order. */
export interface BrokeredCallsSeen {
  /** `realtimeCall` results: the calls the server opened. */
  opened: { callId: string; minutes: { daySeconds: number } }[];
  /** `realtimeCall` prepare results (`{ prepare: true }`: nothing opened). */
  prepared: { minutes: { daySeconds: number } }[];
  /** `endRealtimeCall` requests with their results. */
  ended: {
    request: { callId: string };
    result: { outcome: string; usedSeconds: number | null; minutes: { daySeconds: number } };
  }[];
  /** Either callable's errors: its name, the error's status and `details.reason`. */
  refused: { name: string; status: string; reason: string | null }[];
}

/**
 * Records what the page's `realtimeCall` and `endRealtimeCall` answered from now on, including
 * answers the page itself no longer waited for.
 */
export function watchBrokeredCalls(page: Page): BrokeredCallsSeen {
  const seen: BrokeredCallsSeen = { opened: [], prepared: [], ended: [], refused: [] };
  page.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (response.request().method() !== "POST") return;
    const name = path.split("/").at(-1);
    if (name !== "realtimeCall" && name !== "endRealtimeCall") return;
    type Body = { result?: never; error?: { status?: string; details?: { reason?: string } } };
    void response.json().then((body: Body) => {
      if (body.error !== undefined) {
        const { status = "", details } = body.error;
        seen.refused.push({ name, status, reason: details?.reason ?? null });
        return;
      }
      if (body.result === undefined) return;
      if (name === "realtimeCall" && (body.result as { prepared?: true }).prepared === true)
        seen.prepared.push(body.result);
      else if (name === "realtimeCall") seen.opened.push(body.result);
      else {
        const request = (response.request().postDataJSON() as { data: { callId: string } }).data;
        seen.ended.push({ request, result: body.result });
      }
    });
  });
  return seen;
}

let admin: App | undefined;

/**
 * The stack's Firestore (its emulator, or the stand-in) through the Admin SDK: for a test that
 * has to change what the server stores behind the page's back, as another device would.
 */
export function adminFirestore(): Firestore {
  admin ??= initializeApp({ projectId: PROJECT_ID }, "e2e-admin");
  return getFirestore(admin);
}

async function closeAdmin(): Promise<void> {
  const app = admin;
  admin = undefined;
  if (app !== undefined) await deleteApp(app);
}

/** What the server recorded of a brokered call (functions/src/minuteStore.ts's call record). */
export interface CallRecordSeen {
  uid: string;
  /** The caller's network, keyed-hashed; null when the function saw no client address. */
  network: string | null;
  status: string;
}

/**
 * The uid of the page's signed-in user, as the Firebase Auth SDK persisted it (IndexedDB
 * `firebaseLocalStorageDb`, the app's first persistence; web/src/firebase.ts).
 */
export async function uidOf(page: Page): Promise<string> {
  const uid = await page.evaluate(
    () =>
      new Promise<string | null>((resolve, reject) => {
        const open = indexedDB.open("firebaseLocalStorageDb");
        open.onerror = () => reject(open.error ?? new Error("IndexedDB did not open"));
        open.onsuccess = () => {
          const all = open.result
            .transaction("firebaseLocalStorage", "readonly")
            .objectStore("firebaseLocalStorage")
            .getAll();
          all.onerror = () => reject(all.error ?? new Error("IndexedDB read failed"));
          all.onsuccess = () => {
            const users = (all.result as { value?: { uid?: unknown } }[]).map((r) => r.value?.uid);
            resolve(users.find((u): u is string => typeof u === "string") ?? null);
          };
        };
      }),
  );
  if (uid === null) throw new Error("the page has no signed-in user");
  return uid;
}

/**
 * The server's record of the page's brokered call that upstream knows as `callId`
 * (`voiceUsers/{uid}/calls`, functions/src/minuteStore.ts).
 */
export async function callRecord(page: Page, callId: string): Promise<CallRecordSeen> {
  const uid = await uidOf(page);
  const calls = adminFirestore().collection(`${VOICE_USERS}/${docId(uid)}/calls`);
  const found = await until(
    async () => (await calls.where("callId", "==", callId).get()).docs,
    (docs) => docs.length === 1,
    5_000,
    (docs) => `${docs.length} call records of ${uid} with callId ${callId}`,
  );
  const data = found[0]?.data() ?? {};
  return {
    uid,
    network: typeof data.network === "string" ? data.network : null,
    status: String(data.status),
  };
}
