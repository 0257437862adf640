/**
 * `npm run bench:connect`: click → `session.created` (GPT-Live: `session.started`) in one Chromium run, for
 *
 * - a: the app with no cached secret (`?prefetch=off`: the callable runs after the click);
 * - b: the app with a prefetched secret (`?prefetch=load`, clicked once the prefetch is done);
 * - c: the reference page (reference.html + reference.ts), the floor: getUserMedia, one peer
 *   connection, the SDP exchange with the stand-in, a secret minted beforehand;
 * - d: the app in brokered mode (`?mode=brokered`: the `realtimeCall` function posts the offer
 *   to the stand-in), clicked once the page's prepare request (the user's minutes, shown on
 *   load) has answered, as b is clicked once its prefetch has. Each such call is then left to run to its deadline (12 s calls in the e2e
 *   project), and the stand-in's `endedAt` against the page's `endsAt` gives the hang-up
 *   lateness of the deadline task;
 * - e: the app on GPT-Live (`?mode=live`: `realtimeCall` opens a Live session on the stand-in),
 *   clicked as d is; click → `session.started`. It too runs to its deadline, where the
 *   deadline task closes the session over its sideband.
 *
 * Runs inside `tsx scripts/browser-stack.ts` (web app on the Hosting emulator, Auth and
 * Functions emulators, the OpenAI stand-in at $STANDIN_URL). Every run uses a fresh browser
 * context, so a fresh anonymous user (the e2e project allows one mint per user per 60 s).
 * Variants are rotated round by round after unmeasured warm-up rounds, so drift hits all alike.
 *
 * The headline number is each page's own clock: the app's `#connect-timings.sessionCreated`
 * and the reference page's equivalent. connect-probe.ts, injected into every page, also times
 * from the click event itself and splits ICE from DTLS; see `breakdown` in the output.
 *
 * Env: BENCH_RUNS (measured runs per variant, default 12), BENCH_WARMUP (warm-up rounds of all
 * five, default 2), BENCH_SETTLE_MS (idle time before each click, default 300),
 * BENCH_MIC_PERMISSION (`granted`, the default: every context has the microphone allowed
 * already, as for a returning user, so the app sends its offer without waiting for the
 * microphone; `prompt`: a first visit, the offer waits for it; the fake-UI flag accepts the
 * prompt at once either way).
 * Prints JSON and writes it to .bench/connect.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import ts from "typescript";
import { launchChromium } from "./browser.js";
import type { ConnectTimings } from "../web/src/realtime/timings.js";
import type { ConnectProbe } from "./connect-probe.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const hostingPort = (
  JSON.parse(readFileSync(join(ROOT, "firebase.json"), "utf8")) as {
    emulators: { hosting: { port: number } };
  }
).emulators.hosting.port;
const APP_URL = `http://127.0.0.1:${hostingPort}/`;
/** Any `sk-` key of 10+ characters mints a secret the stand-in accepts. */
const STANDIN_KEY = "sk-bench-connect-local";
/** The function's default model (functions/src/config.ts), so the sessions match. */
const MODEL = "gpt-realtime-2";

const VARIANTS = ["a", "b", "c", "d", "e"] as const;
type Variant = (typeof VARIANTS)[number];
const LABELS: Record<Variant, string> = {
  a: "app, no cached secret (?prefetch=off)",
  b: "app, prefetched secret (?prefetch=load)",
  c: "reference page, secret handed in",
  d: "app, brokered call (?mode=brokered)",
  e: "app, brokered GPT-Live call (?mode=live)",
};

/** The brokered variants: each call runs to the server's hang-up at its deadline. */
const BROKERED: Partial<Record<Variant, { query: string; idPrefix: string }>> = {
  d: { query: "?mode=brokered", idPrefix: "rtc_" },
  e: { query: "?mode=live", idPrefix: "live_" },
};

/** A brokered call's end: deadline (`endsAt`, the server's) → ended on the stand-in. */
interface HangUp {
  callId: string;
  endsAt: number;
  endedAt: number | null;
  endedReason: string | null;
  /**
   * Whether the server ended it: a Realtime call's `endedReason` is `hangup`; a Live
   * session's `session.closed` was `close_requested` from the sideband (the page then closes
   * its peer, usually before the stand-in's own 100 ms grace, so its `endedReason` is
   * `peer_closed`).
   */
  byServer: boolean;
  /** `endedAt - endsAt`, ms; null when the call did not end in time. */
  latenessMs: number | null;
}

/** What a page reports in `#connect-timings` (ms after the click, its own clock). */
type PageTimings = ConnectTimings;

interface Run {
  variant: Variant;
  page: PageTimings;
  probe: ConnectProbe;
  tokenSource: string | null;
  hangUp: HangUp | null;
}

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be an integer ≥ 0`);
  return value;
}

/** TypeScript for the browser, compiled here (no bundler): the module syntax is stripped. */
function compileForBrowser(file: string, wrap: boolean): string {
  const source = readFileSync(join(HERE, file), "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    fileName: file,
  });
  const code = outputText.replace(/^export \{\s*\};?\s*$/gm, "");
  return wrap ? `(() => {\n${code}\n})();\n` : code;
}

/** Serves reference.html and its script on 127.0.0.1 (an ephemeral port), nothing else. */
async function serveReference(): Promise<{ server: Server; url: string }> {
  const files: Record<string, { type: string; body: string }> = {
    "/reference.html": {
      type: "text/html; charset=utf-8",
      body: readFileSync(join(HERE, "reference.html"), "utf8"),
    },
    "/reference.js": {
      type: "text/javascript; charset=utf-8",
      body: compileForBrowser("reference.ts", false),
    },
  };
  const server = createServer((request, response) => {
    const file = files[new URL(request.url ?? "/", "http://x").pathname];
    if (request.method !== "GET" || file === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "Content-Type": file.type, "Cache-Control": "no-store" });
    response.end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/reference.html` };
}

async function mintSecret(standinUrl: string): Promise<string> {
  const response = await fetch(`${standinUrl}/v1/realtime/client_secrets`, {
    method: "POST",
    headers: { Authorization: `Bearer ${STANDIN_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ session: { type: "realtime", model: MODEL } }),
  });
  const body = (await response.json()) as { value?: string };
  if (!response.ok || typeof body.value !== "string") {
    throw new Error(`client_secrets answered ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.value;
}

async function settle(page: Page, ms: number): Promise<void> {
  if (ms > 0) await page.waitForTimeout(ms);
}

/** One measured (or warm-up) connect in a fresh context. */
async function runOnce(
  browser: Browser,
  variant: Variant,
  env: {
    standinUrl: string;
    referenceUrl: string;
    probe: string;
    settleMs: number;
    micGranted: boolean;
  },
): Promise<Run> {
  const context = await browser.newContext(env.micGranted ? { permissions: ["microphone"] } : {});
  try {
    await context.addInitScript({ content: env.probe });
    const page = await context.newPage();
    if (variant === "c") {
      const secret = await mintSecret(env.standinUrl);
      const calls = `${env.standinUrl}/v1/realtime/calls`;
      await page.goto(`${env.referenceUrl}?${new URLSearchParams({ secret, calls }).toString()}`);
    } else if (BROKERED[variant]) {
      await page.goto(`${APP_URL}${BROKERED[variant].query}`);
      await page.waitForSelector('#auth-status[data-auth="anonymous"]');
      await page.waitForSelector('#minutes-left[data-state="known"]', { state: "attached" });
    } else {
      await page.goto(`${APP_URL}?prefetch=${variant === "a" ? "off" : "load"}`);
      await page.waitForSelector('#auth-status[data-auth="anonymous"]');
      if (variant === "b") {
        // The prefetch has finished once the callable's answer is rendered: the fetch count
        // and the quota are both shown when the response arrives.
        await page.waitForSelector("#token-fetches:text-is('1')", { state: "attached" });
        await page.waitForFunction(
          () => document.getElementById("quota-remaining")?.textContent?.trim() !== "–",
        );
      }
    }
    await page.waitForSelector("#connect:enabled");
    await settle(page, env.settleMs);
    await page.click("#connect");
    await Promise.race([
      page.waitForSelector('#session-id[data-created="true"]', {
        state: "attached",
        timeout: 20_000,
      }),
      page
        .waitForSelector('#banner:not([hidden]), #state[data-state="failed"]', {
          state: "attached",
          timeout: 20_000,
        })
        .then(async () => {
          const text = await page.textContent("#banner-message, #error");
          throw new Error(`variant ${variant}: connect failed: ${text ?? "?"}`);
        }),
    ]);
    const timingsText = (await page.textContent("#connect-timings")) ?? "{}";
    const probe = await page.evaluate(
      () => (window as unknown as { __connectProbe: ConnectProbe }).__connectProbe,
    );
    const tokenSource =
      variant === "a" || variant === "b"
        ? ((await page.textContent("#token-source"))?.trim() ?? null)
        : null;
    // A brokered call runs to its deadline (closing the page would end it early).
    const brokered = BROKERED[variant];
    const hangUp = brokered ? await awaitHangUp(page, env.standinUrl, brokered.idPrefix) : null;
    if (!brokered) await page.click("#disconnect").catch(() => undefined);
    return { variant, page: JSON.parse(timingsText) as PageTimings, probe, tokenSource, hangUp };
  } finally {
    await context.close();
  }
}

/** Waits for the server to hang up the page's brokered call; reads when the stand-in saw it. */
async function awaitHangUp(page: Page, standinUrl: string, idPrefix: string): Promise<HangUp> {
  const callId = (await page.textContent("#call-id"))?.trim() ?? "";
  const endsAt = Number(await page.getAttribute("#call-clock", "data-ends-at"));
  if (!callId.startsWith(idPrefix) || !Number.isFinite(endsAt) || endsAt <= 0) {
    throw new Error(`no ${idPrefix} call id or deadline on the page (${callId}, ${endsAt})`);
  }
  const giveUpAt = endsAt + 15_000;
  type Ended = { id: string; endedAt: number | null; endedReason: string | null };
  type LiveEnded = Ended & { closeReason: string | null; endedBy: string | null };
  for (;;) {
    const state = (await (await fetch(`${standinUrl}/_standin/state`)).json()) as {
      calls: Ended[];
      liveSessions: LiveEnded[];
    };
    const live = state.liveSessions.find((c) => c.id === callId);
    const call = live ?? state.calls.find((c) => c.id === callId);
    if (call?.endedAt != null || Date.now() > giveUpAt) {
      const endedAt = call?.endedAt ?? null;
      return {
        callId,
        endsAt,
        endedAt,
        endedReason: live ? `${live.closeReason}/${live.endedBy}` : (call?.endedReason ?? null),
        byServer: live
          ? live.closeReason === "close_requested" && live.endedBy === "sideband"
          : call?.endedReason === "hangup",
        latenessMs: endedAt === null ? null : endedAt - endsAt,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Linear interpolation between closest ranks (what numpy and most spreadsheets do). */
function quantile(values: number[], q: number): number | null {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  if (sorted.length === 0) return null;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const value = (sorted[low] ?? 0) + ((sorted[high] ?? 0) - (sorted[low] ?? 0)) * (position - low);
  return Math.round(value * 10) / 10;
}

const median = (values: number[]) => quantile(values, 0.5);

/**
 * Per-run phases in ms, on the page's own timeline. `sdpExchange` starts when the offer, the
 * microphone and the secret are all ready (the app posts then); DTLS comes from the probe,
 * moved onto the page's timeline by anchoring both clocks at session.created.
 */
function phases(run: Run): Record<string, number> {
  const t = run.page;
  const token = t.token ?? 0;
  const microphone = t.microphone ?? NaN;
  const offer = t.offer ?? NaN;
  const sdpAnswer = t.sdpAnswer ?? NaN;
  const channelOpen = t.channelOpen ?? NaN;
  const sessionCreated = t.sessionCreated ?? NaN;
  const clickOffset = (run.probe.sessionCreated ?? NaN) - sessionCreated;
  const dtls = (run.probe.dtlsConnected ?? NaN) - clickOffset;
  return {
    token,
    microphone,
    offer,
    // The app marks when its offer went out (it need not wait for a microphone already
    // allowed); the reference page posts once it has the microphone and the offer.
    sdpExchange: sdpAnswer - (t.offerSent ?? Math.max(token, microphone, offer)),
    ice: (t.iceConnected ?? NaN) - sdpAnswer,
    iceDtls: dtls - sdpAnswer,
    channelOpen: channelOpen - dtls,
    sessionCreated: sessionCreated - channelOpen,
    clickToConnectStart: clickOffset,
    micRequestedAfterClick: run.probe.micRequested ?? NaN,
  };
}

function summarize(runs: Run[]) {
  const totals = runs.map((r) => r.page.sessionCreated ?? NaN);
  const clickTotals = runs.map((r) => r.probe.sessionCreated ?? NaN);
  const perRun = runs.map(phases);
  const keys = Object.keys(perRun[0] ?? {});
  const breakdown = Object.fromEntries(keys.map((k) => [k, median(perRun.map((p) => p[k]!))]));
  return {
    n: runs.length,
    p50: median(totals),
    p95: quantile(totals, 0.95),
    min: quantile(totals, 0),
    max: quantile(totals, 1),
    clickEventToSessionCreated: {
      p50: median(clickTotals),
      p95: quantile(clickTotals, 0.95),
    },
    breakdownMedian: breakdown,
    tokenSources: [...new Set(runs.map((r) => r.tokenSource).filter((s) => s !== null))],
    samples: totals,
  };
}

/**
 * How late the server hung up a brokered variant's calls after their deadline (for a Live
 * session: when its peer closed, just after the sideband's `session.closed`).
 */
function hangUpsOf(runs: Run[]) {
  const hangUps = runs.map((r) => r.hangUp).filter((h) => h !== null);
  const lateness = hangUps.map((h) => h.latenessMs ?? NaN);
  const report = {
    metric: "deadline (realtimeCall's endsAt) → call ended on the stand-in, ms",
    n: hangUps.length,
    p50: median(lateness),
    max: quantile(lateness, 1),
    min: quantile(lateness, 0),
    allHungUpByServer: hangUps.every((h) => h.byServer),
    samples: hangUps.map((h) => ({ ms: h.latenessMs, reason: h.endedReason })),
  };
  const ok =
    hangUps.length >= 10 &&
    report.allHungUpByServer &&
    lateness.every((ms) => Number.isFinite(ms) && ms >= 0 && ms <= 2_000);
  return { lateness: report, ok };
}

const ratio = (x: number | null, y: number | null) =>
  x === null || y === null || y === 0 ? null : Math.round((x / y) * 1000) / 1000;

async function main(): Promise<number> {
  const standinUrl = process.env.STANDIN_URL;
  if (!standinUrl) {
    console.error("STANDIN_URL is not set: run this with `npm run bench:connect`.");
    return 2;
  }
  const runs = positiveInt("BENCH_RUNS", 12);
  const warmupRounds = positiveInt("BENCH_WARMUP", 2);
  const settleMs = positiveInt("BENCH_SETTLE_MS", 300);
  const micPermission = process.env.BENCH_MIC_PERMISSION ?? "granted";
  if (micPermission !== "granted" && micPermission !== "prompt")
    throw new Error("BENCH_MIC_PERMISSION must be granted or prompt");
  if (runs < 1) throw new Error("BENCH_RUNS must be at least 1");

  const probe = compileForBrowser("connect-probe.ts", true);
  const { server, url: referenceUrl } = await serveReference();
  const browser = await launchChromium();
  const started = Date.now();
  const results: Record<Variant, Run[]> = { a: [], b: [], c: [], d: [], e: [] };
  try {
    const env = {
      standinUrl,
      referenceUrl,
      probe,
      settleMs,
      micGranted: micPermission === "granted",
    };
    for (let round = -warmupRounds; round < runs; round++) {
      const shift = ((round % VARIANTS.length) + VARIANTS.length) % VARIANTS.length;
      const order = [...VARIANTS.slice(shift), ...VARIANTS.slice(0, shift)];
      for (const variant of order) {
        const run = await runOnce(browser, variant, env);
        const tag = round < 0 ? "warm-up" : `run ${round + 1}/${runs}`;
        console.error(
          `[bench:connect] ${tag} ${variant}: ${run.page.sessionCreated ?? "?"} ms ` +
            `(click event: ${run.probe.sessionCreated ?? "?"} ms)`,
        );
        if (round >= 0) results[variant].push(run);
      }
    }
    const summary = {
      a: { label: LABELS.a, ...summarize(results.a) },
      b: { label: LABELS.b, ...summarize(results.b) },
      c: { label: LABELS.c, ...summarize(results.c) },
      d: { label: LABELS.d, ...summarize(results.d) },
      e: { label: LABELS.e, ...summarize(results.e) },
    };
    const dOverC = ratio(summary.d.p50, summary.c.p50);
    const eOverC = ratio(summary.e.p50, summary.c.p50);
    const { lateness: hangUpLateness, ok: hangUpsOk } = hangUpsOf(results.d);
    const { lateness: liveHangUpLateness, ok: liveHangUpsOk } = hangUpsOf(results.e);
    const bOverC = ratio(summary.b.p50, summary.c.p50);
    const clickBOverC = ratio(
      summary.b.clickEventToSessionCreated.p50,
      summary.c.clickEventToSessionCreated.p50,
    );
    const report = {
      bench: "connect",
      metric: "click → session.created, ms, each page's own clock (performance.now)",
      chromium: browser.version(),
      runsPerVariant: runs,
      warmupRounds,
      settleMsBeforeClick: settleMs,
      microphonePermission: micPermission,
      durationSeconds: Math.round((Date.now() - started) / 100) / 10,
      variants: summary,
      hangUpLateness,
      liveHangUpLateness,
      ratios: {
        aOverC: ratio(summary.a.p50, summary.c.p50),
        bOverC,
        dOverC,
        eOverC,
        clickEvent: {
          aOverC: ratio(
            summary.a.clickEventToSessionCreated.p50,
            summary.c.clickEventToSessionCreated.p50,
          ),
          bOverC: clickBOverC,
          bOverCAtMost1_05: clickBOverC !== null && clickBOverC <= 1.05,
        },
      },
      goals: {
        bOverCAtMost1_05: bOverC !== null && bOverC <= 1.05,
        dOverCAtMost1_10: dOverC !== null && dOverC <= 1.1,
        eOverCAtMost1_10: eOverC !== null && eOverC <= 1.1,
        hangUpsAtLeast10AllWithin2s: hangUpsOk,
        liveHangUpsAtLeast10AllWithin2s: liveHangUpsOk,
      },
      notes: {
        breakdownMedian:
          "medians of per-run phases in ms: token, microphone and offer are when each was " +
          "ready after the click (token 0 when handed in or cached); sdpExchange from the " +
          "offer going out (the app's offerSent; for the reference page the last of those) to " +
          "the SDP answer; ice from the answer to ICE connected; iceDtls from " +
          "the answer to connectionState connected (ICE + DTLS); channelOpen from there to " +
          "the data channel's open event; sessionCreated from open to session.created; " +
          "clickToConnectStart is click event → the page's own zero; micRequestedAfterClick is " +
          "click event → the page's getUserMedia call.",
        clickEventToSessionCreated:
          "the same total timed by connect-probe.ts from the click event itself",
      },
    };
    const json = JSON.stringify(report, null, 2);
    console.log(json);
    mkdirSync(join(ROOT, ".bench"), { recursive: true });
    writeFileSync(join(ROOT, ".bench", "connect.json"), `${json}\n`);
    return 0;
  } finally {
    await browser.close();
    server.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error("[bench:connect]", error);
    process.exit(1);
  },
);
