/**
 * A backend that serves brokered calls only (project demo-realtime-brokered, REALTIME_MODES=
 * brokered): realtimeToken refuses, so nobody can bypass the voice-minute budget with a
 * client secret. `npm run test:integration` runs this file in a stack of its own.
 */
import { httpsCallable } from "firebase/functions";
import { RTCPeerConnection } from "werift";
import { describe, expect, it } from "vitest";
import type { ModeNotServedDetails, RealtimeCallResponse } from "voice-contract";
import { callError, newClient, PROJECT_ID, standinState } from "./harness";

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
    const pc = new RTCPeerConnection({ iceServers: [], iceAdditionalHostAddresses: ["127.0.0.1"] });
    pc.addTransceiver("audio", { direction: "sendrecv" });
    pc.createDataChannel("oai-events");
    await pc.setLocalDescription(await pc.createOffer());
    const offer = pc.localDescription?.sdp ?? "";
    await pc.close();
    const open = httpsCallable<unknown, RealtimeCallResponse>(client.functions, "realtimeCall", {
      limitedUseAppCheckTokens: true,
    });
    const result = (await open({ offer })).data;
    expect(result.answer).toMatch(/^v=0/);
    expect(result.sliceSeconds).toBe(4);
  });
});
