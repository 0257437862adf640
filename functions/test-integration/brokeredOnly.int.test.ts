/**
 * A backend that serves brokered calls only (project demo-realtime-brokered, REALTIME_MODES=
 * brokered): realtimeToken refuses, so nobody can bypass the voice-minute budget with a
 * client secret. `npm run test:integration` runs this file in a stack of its own.
 */
import { httpsCallable } from "firebase/functions";
import { RTCPeerConnection } from "werift";
import { describe, expect, it } from "vitest";
import {
  END_CLAIM_BOUND_SECONDS,
  type EndRealtimeCallResponse,
  type ModeNotServedDetails,
  type RealtimeCallResponse,
} from "voice-contract";
import { type Client, callError, newClient, PROJECT_ID, standinState } from "./harness";

/** functions/.env.demo-realtime-brokered: MAX_CALL_SECONDS. */
const SLICE_SECONDS = 30;

async function makeOffer(): Promise<string> {
  const pc = new RTCPeerConnection({ iceServers: [], iceAdditionalHostAddresses: ["127.0.0.1"] });
  pc.addTransceiver("audio", { direction: "sendrecv" });
  pc.createDataChannel("oai-events");
  await pc.setLocalDescription(await pc.createOffer());
  const offer = pc.localDescription?.sdp ?? "";
  await pc.close();
  return offer;
}

function callables(client: Client) {
  const open = httpsCallable<unknown, RealtimeCallResponse>(client.functions, "realtimeCall", {
    limitedUseAppCheckTokens: true,
  });
  const end = httpsCallable<unknown, EndRealtimeCallResponse>(client.functions, "endRealtimeCall", {
    limitedUseAppCheckTokens: true,
  });
  return {
    open: async () => (await open({ offer: await makeOffer() })).data,
    end: async (data: unknown) => (await end(data)).data,
  };
}

describe.runIf(PROJECT_ID === "demo-realtime-brokered")("a brokered-only backend", () => {
  it("refuses realtimeToken with failed-precondition, naming realtimeCall, and mints nothing", async () => {
    const client = await newClient();
    const before = (await standinState()).requests.clientSecrets;
    const error = await callError(client.call({ voice: "cedar" }));
    expect(error.code).toBe("functions/failed-precondition");
    expect(error.message).toContain("realtimeCall");
    expect(error.details).toEqual({
      reason: "mode-not-served",
      served: ["brokered"],
    } satisfies ModeNotServedDetails);
    expect((await standinState()).requests.clientSecrets).toBe(before);
  });

  it("still opens brokered calls", async () => {
    const client = await newClient();
    const result = await callables(client).open();
    expect(result.answer).toMatch(/^v=0/);
    expect(result.sliceSeconds).toBe(SLICE_SECONDS);
    await callables(client).end({ callId: result.callId });
  });

  it(`caps what an end's claim saves at ${END_CLAIM_BOUND_SECONDS} s before the end arrived`, async () => {
    const client = await newClient();
    const calls = callables(client);
    // Warm endRealtimeCall's worker: a cold start would add 5-11 s to what is charged.
    expect((await callError(calls.end({ callId: "rtc_nobody" }))).code).toBe("functions/not-found");
    const opened = await calls.open();
    const waitMs = (END_CLAIM_BOUND_SECONDS + 3) * 1000;
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    // A page that says it hung up at once, 18 s into the call: charged from 15 s before its
    // end arrived, not nothing.
    const ended = await calls.end({ callId: opened.callId, endedAfterSeconds: 0 });
    expect(ended.outcome).toBe("ended");
    const used = ended.usedSeconds ?? -1;
    expect(used).toBeGreaterThanOrEqual(waitMs / 1000 - END_CLAIM_BOUND_SECONDS);
    expect(used).toBeLessThan(SLICE_SECONDS - END_CLAIM_BOUND_SECONDS + 3);
    expect(ended.minutes.daySeconds).toBe(60 - used);
  });
});
