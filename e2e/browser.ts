/**
 * Debian's Chromium driven by playwright-core, with a fake microphone, for the end-to-end suite
 * and bench:connect. Nothing here downloads a browser.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** The browser to drive: $CHROMIUM_PATH, or the first one installed at a usual place. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? CANDIDATES.find((p) => existsSync(p));
  if (path === undefined || !existsSync(path)) {
    throw new Error(
      "No Chromium found. Install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH.",
    );
  }
  return path;
}

/** Writes 16-bit mono PCM samples as a WAV file in a fresh temporary directory. */
function writeWav(name: string, samples: Int16Array, rate: number): string {
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + samples.length * 2, 4);
  header.write("WAVEfmt ", 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36);
  header.writeUInt32LE(samples.length * 2, 40);
  const file = join(mkdtempSync(join(tmpdir(), "e2e-audio-")), name);
  writeFileSync(file, Buffer.concat([header, Buffer.from(samples.buffer)]));
  return file;
}

/**
 * A WAV file of silence for the fake microphone. Chromium's default fake device beeps, and the
 * beeps are speech to voice activity detection (the stand-in's, like OpenAI's), which would
 * interrupt responses at random moments. Silence still flows as RTP.
 */
function silenceWav(seconds = 5, rate = 48_000): string {
  return writeWav("silence.wav", new Int16Array(seconds * rate), rate);
}

/** A WAV file of a 440 Hz tone at half scale: speech to voice activity detection. */
export function toneWav(seconds = 2, rate = 48_000): string {
  const samples = new Int16Array(seconds * rate);
  for (let i = 0; i < samples.length; i++)
    samples[i] = Math.round(16_384 * Math.sin((2 * Math.PI * 440 * i) / rate));
  return writeWav("tone.wav", samples, rate);
}

/**
 * A WAV file of speech-like turns for the fake microphone, which loops it: a 440 Hz tone for
 * `toneSeconds` (speech to voice activity detection), then `silenceSeconds` of silence (long
 * enough for server VAD to end the turn).
 */
export function turnsWav(toneSeconds = 1, silenceSeconds = 2, rate = 48_000): string {
  const samples = new Int16Array((toneSeconds + silenceSeconds) * rate);
  for (let i = 0; i < toneSeconds * rate; i++)
    samples[i] = Math.round(16_384 * Math.sin((2 * Math.PI * 440 * i) / rate));
  return writeWav("turns.wav", samples, rate);
}

/**
 * Chromium with a fake microphone playing `audioFile` in a loop (silence by default);
 * `extraArgs` add flags (e.g. an autoplay policy).
 */
export function launchChromium(
  extraArgs: readonly string[] = [],
  audioFile: string = silenceWav(),
): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${audioFile}`,
      "--allow-loopback-in-peer-connection",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      ...extraArgs,
    ],
  });
}
