/** What the upstream adapters' tests share: a real browser's offer and a failure reader. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UpstreamError } from "../../src/openai";

/** An SDP offer Chromium made (fixtures/chromium-offer.sdp). */
export const CHROMIUM_OFFER = readFileSync(
  join(__dirname, "..", "fixtures", "chromium-offer.sdp"),
  "utf8",
);

/** The {@link UpstreamError} `promise` rejects with; anything else fails the test. */
export async function upstreamFailure(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UpstreamError) return error;
    throw error;
  }
  throw new Error("expected an UpstreamError");
}

/** A deadline `s` seconds from now (ms). */
export const inSeconds = (s: number): number => Date.now() + s * 1000;
