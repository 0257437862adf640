/**
 * AudioUnlock (web/src/realtime/audioUnlock.ts) in real Chromium under
 * `--autoplay-policy=document-user-activation-required`, on a page of its own: the module is
 * compiled with TypeScript's `transpileModule` and served by a local HTTP server. Needs no
 * emulator or stand-in; the remote stream is an oscillator's MediaStream.
 *
 * Chromium's activation is sticky and every Playwright call that touches the page (even a
 * locator read) activates it, so the blocked case connects on load and waits for the refusal
 * with a console event before its first locator.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumPath } from "./browser.js";

const REALTIME = join(__dirname, "..", "web", "src", "realtime");

/** A module of web/src/realtime as browser JavaScript, its relative imports made `.js`. */
function compiled(name: string): string {
  const source = readFileSync(join(REALTIME, `${name}.ts`), "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return outputText.replace(/from "\.\/(\w+)"/g, 'from "./$1.js"');
}

const PAGE = `<!doctype html><html><body>
<button id="connect">Connect</button>
<button id="tap" hidden>Tap to hear the assistant</button>
<audio id="remote"></audio>
<script type="module">
  import { AudioUnlock } from "./audioUnlock.js";
  const audio = document.getElementById("remote");
  const tap = document.getElementById("tap");
  const unlock = new AudioUnlock(audio, (state) => {
    document.body.dataset.playback = state.status;
    tap.hidden = state.status !== "blocked";
    console.log("playback:" + state.status);
  });
  function remoteStream() {
    const context = new AudioContext();
    const oscillator = context.createOscillator();
    const destination = context.createMediaStreamDestination();
    oscillator.connect(destination);
    oscillator.start();
    return destination.stream;
  }
  // As a call does: the stream arrives well after the gesture, then the element is played.
  function attach() {
    audio.srcObject = remoteStream();
    void unlock.play();
  }
  document.getElementById("connect").addEventListener("click", () => {
    void unlock.unlock();
    setTimeout(attach, 300);
  });
  tap.addEventListener("click", () => void unlock.play());
  if (location.search === "?autoconnect") setTimeout(attach, 100);
</script>
</body></html>`;

let server: Server;
let base: string;
let browser: Browser;

beforeAll(async () => {
  const files: Record<string, [string, string]> = {
    "/": ["text/html", PAGE],
    "/audioUnlock.js": ["text/javascript", compiled("audioUnlock")],
    "/errors.js": ["text/javascript", compiled("errors")],
  };
  server = createServer((request, response) => {
    const file = files[new URL(request.url ?? "/", "http://x").pathname];
    response.writeHead(file ? 200 : 404, { "content-type": file?.[0] ?? "text/plain" });
    response.end(file?.[1] ?? "not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=document-user-activation-required"],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

async function playing(page: Page): Promise<void> {
  await page.locator('body[data-playback="playing"]').waitFor({ state: "attached" });
  expect(await page.locator("#remote").evaluate((audio: HTMLAudioElement) => audio.paused)).toBe(
    false,
  );
  expect(await page.locator("#tap").isHidden()).toBe(true);
}

describe("AudioUnlock in Chromium with autoplay restricted", () => {
  it("plays the stream that arrives after the Connect click", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(base);
      await page.click("#connect");
      await playing(page);
    } finally {
      await page.close();
    }
  });

  it("reports blocked without a gesture, shows the tap control, and plays after the tap", async () => {
    const page = await browser.newPage();
    try {
      const blocked = page.waitForEvent("console", {
        predicate: (message) => message.text().startsWith("playback:blocked"),
      });
      await page.goto(`${base}?autoconnect`);
      await blocked;
      expect(await page.locator("body").getAttribute("data-playback")).toBe("blocked");
      expect(
        await page.locator("#remote").evaluate((audio: HTMLAudioElement) => audio.paused),
      ).toBe(true);
      await page.locator("#tap").click();
      await playing(page);
    } finally {
      await page.close();
    }
  });
});
