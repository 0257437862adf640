import { describe, expect, it } from "vitest";
import { FakeStream, flush } from "./fakes";
import { connected, startAudioResponse } from "./harness";

describe("mute", () => {
  it("mutes by disabling the track", async () => {
    const t = await connected();
    const states: unknown[] = [];
    t.session.on("mic", (mic) => states.push(mic));
    t.session.setMuted(true);
    expect(t.mic.tracks[0]?.enabled).toBe(false);
    t.session.setMuted(false);
    expect(t.mic.tracks[0]?.enabled).toBe(true);
    expect(states).toEqual([
      { muted: true, live: false },
      { muted: false, live: true },
    ]);
  });

  it("auto on Android detaches the microphone while the assistant speaks", async () => {
    const t = await connected({ isAndroid: true });
    expect(t.session.muteStrategy).toBe("aggressive");
    const track = t.mic.tracks[0];
    startAudioResponse(t, 10);
    await flush();
    expect(t.pc.sender.current).toBeNull();
    expect(t.session.mic.live).toBe(false);
    t.pc.channel.receive({ type: "output_audio_buffer.stopped", response_id: "resp_1" });
    await flush();
    expect(t.pc.sender.current).toBe(track);
    expect(t.session.mic.live).toBe(true);
  });

  it("auto elsewhere leaves the microphone attached", async () => {
    const t = await connected({ isAndroid: false });
    expect(t.session.muteStrategy).toBe("standard");
    const before = t.pc.sender.replaced.length;
    startAudioResponse(t, 10);
    await flush();
    expect(t.pc.sender.replaced).toHaveLength(before);
    expect(t.session.mic.live).toBe(true);
  });

  it("never stops a stream it was given", async () => {
    const own = new FakeStream();
    const t = await connected({ mediaStream: own });
    expect(t.micRequests).toBe(0);
    t.session.dispose();
    expect(own.tracks[0]?.stopped).toBe(false);
  });
});
