/**
 * A Node WebRTC client for the tests, doing what the browser client does: one sendrecv
 * audio transceiver streaming Opus RTP, an `oai-events` data channel, the offer POSTed to
 * `/v1/realtime/calls` with the client secret.
 */
import type { RealtimeClientEvent, RealtimeServerEvent } from "openai/resources/realtime/realtime";
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RtpHeader,
  RtpPacket,
  type RTCDataChannel,
} from "werift";
import { OPUS_SILENCE_FRAME } from "../../src/opus-pacer.js";
import { EventQueue } from "./event-queue.js";

/**
 * What a werift client needs on loopback: no STUN (and no wait for werift's built-in
 * Google STUN fallback, which can stall gathering for 5 s offline), and loopback candidates.
 */
export const CLIENT_CONFIG = {
  iceServers: [],
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceStunGatherTimeout: 0,
};

/** Large enough to count as speech for the stand-in (it never decodes the audio). */
export const VOICED = Buffer.alloc(80, 0x5a);

export class TestClient {
  readonly received = new EventQueue<RealtimeServerEvent>();
  /** {@link EventQueue.waitFor} on what this client received. */
  readonly waitFor = this.received.waitFor.bind(this.received);
  /** {@link EventQueue.typesSince} on what this client received. */
  readonly typesSince = this.received.typesSince.bind(this.received);
  rtpIn = 0;
  rtpOut = 0;
  callId = "";
  location = "";
  private micTimer: NodeJS.Timeout | undefined;
  private seq = 0;
  private ts = 0;
  private micPayload: Buffer = OPUS_SILENCE_FRAME;
  private micRemaining = Infinity;
  private onMicDone: (() => void) | undefined;

  private constructor(
    readonly pc: RTCPeerConnection,
    readonly channel: RTCDataChannel,
    private readonly mic: MediaStreamTrack,
  ) {}

  /**
   * Opens a call. `audio: false` keeps the mic track silent (no RTP); otherwise it sends
   * Opus silence every 20 ms until `speak()` changes the payload.
   */
  static connect(
    baseUrl: string,
    secret: string,
    options: { audio?: boolean; waitForSession?: boolean } = {},
  ): Promise<TestClient> {
    const post = (sdp: string) =>
      fetch(`${baseUrl}/realtime/calls`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/sdp" },
        body: sdp,
      });
    return TestClient.connectWith(post, options);
  }

  /** Opens a call whose offer `post` delivers (e.g. as a server's multipart form). */
  static async connectWith(
    post: (offer: string) => Promise<Response>,
    options: { audio?: boolean; waitForSession?: boolean } = {},
  ): Promise<TestClient> {
    const pc = new RTCPeerConnection(CLIENT_CONFIG);
    const mic = new MediaStreamTrack({ kind: "audio" });
    pc.addTransceiver(mic, { direction: "sendrecv" });
    const channel = pc.createDataChannel("oai-events");
    const client = new TestClient(pc, channel, mic);
    channel.onMessage.subscribe((data) => {
      client.received.push(JSON.parse(data.toString()) as RealtimeServerEvent);
    });
    pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe(() => {
        client.rtpIn += 1;
      });
    });
    await pc.setLocalDescription(await pc.createOffer());
    const response = await post(pc.localDescription?.sdp ?? "");
    if (response.status !== 201) {
      await pc.close();
      throw new Error(`calls answered ${response.status}: ${await response.text()}`);
    }
    client.location = response.headers.get("location") ?? "";
    client.callId = client.location.split("/").at(-1) ?? "";
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    if (options.audio !== false) client.startMic();
    if (options.waitForSession !== false) await client.waitFor("session.created");
    return client;
  }

  /** Every event received, in order. */
  get events(): readonly RealtimeServerEvent[] {
    return this.received.events;
  }

  send(event: RealtimeClientEvent | string): void {
    this.channel.send(typeof event === "string" ? event : JSON.stringify(event));
  }

  /** Sends `packets` voiced packets, then silence again; resolves when the voiced part is out. */
  speak(packets: number): Promise<void> {
    return new Promise((resolve) => {
      this.micPayload = VOICED;
      this.micRemaining = packets;
      this.onMicDone = () => {
        this.micPayload = OPUS_SILENCE_FRAME;
        this.micRemaining = Infinity;
        resolve();
      };
    });
  }

  startMic(): void {
    if (this.micTimer) return;
    this.micTimer = setInterval(() => {
      const header = new RtpHeader({
        payloadType: 111,
        sequenceNumber: this.seq++ & 0xffff,
        timestamp: (this.ts += 960) >>> 0,
      });
      this.mic.writeRtp(new RtpPacket(header, this.micPayload));
      this.rtpOut += 1;
      if (--this.micRemaining === 0) this.onMicDone?.();
    }, 20);
  }

  stopMic(): void {
    clearInterval(this.micTimer);
    this.micTimer = undefined;
  }

  async close(): Promise<void> {
    this.stopMic();
    await this.pc.close();
  }
}

/** Mints a client secret with a plain fetch. */
export async function mintSecret(
  baseUrl: string,
  body: unknown = { session: { type: "realtime" } },
): Promise<string> {
  const response = await fetch(`${baseUrl}/realtime/client_secrets`, {
    method: "POST",
    headers: { authorization: "Bearer sk-test-standin-key", "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status !== 200)
    throw new Error(`client_secrets answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { value: string }).value;
}

/** Polls `cond` until it holds (for server-side state that has no event to wait for). */
export async function until<T>(
  what: string,
  read: () => Promise<T> | T,
  cond: (value: T) => boolean,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (cond(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
