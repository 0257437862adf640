/**
 * A Node WebRTC client of a Live session, as a browser page behind a server would be: one
 * sendrecv audio transceiver streaming Opus RTP, an `oai-events` data channel, the offer
 * posted (by "the server", with the project key) to `/v1/live/sessions`. Every event it
 * receives is checked against the SDK's Live types.
 */
import type { ClientEvent, LiveCreateResponse, ServerEvent } from "openai/resources/live/live";
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RtpHeader,
  RtpPacket,
  type RTCDataChannel,
} from "werift";
import { OPUS_SILENCE_FRAME } from "../../src/opus-pacer.js";
import { CLIENT_CONFIG, VOICED } from "./client.js";
import { EventQueue } from "./event-queue.js";
import { checkLiveServerEvent } from "./live-events.js";

export const KEY = "sk-test-standin-key";

/** Collects a stream of Live server events, each checked, and waits for them in order. */
export class LiveEvents extends EventQueue<ServerEvent> {
  /** Messages that failed the type check (a test asserts this stays empty). */
  readonly malformed: string[] = [];

  /** One raw data-channel or sideband message. */
  receive(raw: string): void {
    try {
      this.push(checkLiveServerEvent(JSON.parse(raw)));
    } catch (error) {
      this.malformed.push(`${String(error)}: ${raw}`);
    }
  }
}

/** Posts a create request as the server would; the response as upstream answers it. */
export function createLiveSession(baseUrl: string, body: unknown, key = KEY): Promise<Response> {
  return fetch(`${baseUrl}/live/sessions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

export class LiveTestClient extends LiveEvents {
  sessionId = "";
  rtpIn = 0;
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
  ) {
    super();
  }

  /** Opens a Live session with `session` as its config and waits for `session.started`. */
  static open(baseUrl: string, session: object): Promise<LiveTestClient> {
    return LiveTestClient.openWith(async (sdp) => {
      const response = await createLiveSession(baseUrl, {
        session,
        transport: { type: "webrtc", sdp },
      });
      if (response.status !== 200)
        throw new Error(`live/sessions answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as LiveCreateResponse;
    });
  }

  /** Opens a Live session whose offer `create` delivers (e.g. through the openai SDK). */
  static async openWith(
    create: (offerSdp: string) => Promise<LiveCreateResponse>,
  ): Promise<LiveTestClient> {
    const pc = new RTCPeerConnection(CLIENT_CONFIG);
    const mic = new MediaStreamTrack({ kind: "audio" });
    pc.addTransceiver(mic, { direction: "sendrecv" });
    const channel = pc.createDataChannel("oai-events");
    const client = new LiveTestClient(pc, channel, mic);
    channel.onMessage.subscribe((data) => client.receive(data.toString()));
    pc.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => (client.rtpIn += 1)));
    await pc.setLocalDescription(await pc.createOffer());
    let answer: LiveCreateResponse;
    try {
      answer = await create(pc.localDescription?.sdp ?? "");
    } catch (error) {
      await pc.close();
      throw error;
    }
    client.sessionId = answer.session.id;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.transport.sdp });
    client.startMic();
    await client.waitFor("session.started");
    return client;
  }

  send(event: ClientEvent | object): void {
    this.channel.send(JSON.stringify(event));
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

  private startMic(): void {
    this.micTimer = setInterval(() => {
      const header = new RtpHeader({
        payloadType: 111,
        sequenceNumber: this.seq++ & 0xffff,
        timestamp: (this.ts += 960) >>> 0,
      });
      this.mic.writeRtp(new RtpPacket(header, this.micPayload));
      if (--this.micRemaining === 0) this.onMicDone?.();
    }, 20);
  }

  async close(): Promise<void> {
    clearInterval(this.micTimer);
    await this.pc.close();
  }
}
