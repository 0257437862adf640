import { describe, expect, it } from "vitest";
import { RemoteAudio } from "../src/realtime/remoteAudio";
import type { MediaStreamLike } from "../src/realtime/types";
import { FakeAudioElement, FakeStream, flush } from "./fakes";

function setup(sink?: FakeAudioElement) {
  const streams: MediaStreamLike[] = [];
  const blocked: string[] = [];
  const audio = new RemoteAudio(sink, {
    onStream: (stream) => streams.push(stream),
    onBlocked: (message) => blocked.push(message),
  });
  return { audio, streams, blocked };
}

describe("RemoteAudio", () => {
  it("plays the stream through the sink and takes it off once", () => {
    const sink = new FakeAudioElement();
    const t = setup(sink);
    const stream = new FakeStream();
    t.audio.play(stream);
    expect(t.streams).toEqual([stream]);
    expect(sink.srcObject).toBe(stream);
    expect(sink.playCount).toBe(1);
    t.audio.release();
    expect(sink.srcObject).toBeNull();
    sink.srcObject = "the app's own";
    t.audio.release();
    expect(sink.srcObject).toBe("the app's own");
  });

  it("leaves a sink it never set alone, and reports the stream without a sink", () => {
    const sink = new FakeAudioElement();
    sink.srcObject = "the app's own";
    setup(sink).audio.release();
    expect(sink.srcObject).toBe("the app's own");
    const bare = setup();
    bare.audio.play(new FakeStream());
    expect(bare.streams).toHaveLength(1);
  });

  it("reports a blocked play", async () => {
    const sink = new FakeAudioElement();
    sink.rejectPlay = new Error("NotAllowedError");
    const t = setup(sink);
    t.audio.play(new FakeStream());
    await flush();
    expect(t.blocked).toEqual(["The browser blocked audio playback: NotAllowedError"]);
  });
});
