/**
 * The page the conformance suite (agents-sdk.e2e.test.ts) loads: OpenAI's own Agents SDK
 * (`@openai/agents-realtime`, its published browser build served from node_modules) driving a
 * `RealtimeSession` over WebRTC against the stand-in. Compiled at run time with TypeScript's
 * `transpileModule`, like bench:connect's scripts; the suite calls `window.__conformance`.
 *
 * The microphone is Chromium's fake device playing a WAV of silence (which still sends Opus
 * frames, as a real microphone does), opened before `connect()` and handed to the SDK as its
 * `mediaStream`, as an app that asked for the microphone up front would. To speak, `speak()` swaps the sender's
 * track for a WebAudio track playing a WAV with a tone (served as /tone.wav), and back after
 * the given milliseconds, so turn detection hears speech exactly when the suite asks for it.
 * (A WebAudio track alone will not do: Chromium sends no RTP while it is silent, and turn
 * detection then never hears the speech end.)
 *
 * Everything the SDK reports as an error, and every server event, is recorded for the suite.
 */
import type * as AgentsRealtime from "@openai/agents-realtime";

type Sdk = typeof AgentsRealtime;

interface StartOptions {
  secret: string;
  callsUrl: string;
  model: string;
}

/** A history item as the suite reads it. */
interface HistoryEntry {
  type: string;
  role?: string;
  status?: string;
  text: string;
}

interface Snapshot {
  errors: string[];
  eventTypes: string[];
  history: HistoryEntry[];
  /** The SDK's own running totals (`session.usage`). */
  usage: { requests: number; inputTokens: number; outputTokens: number; totalTokens: number };
  /** The same, summed from the `response.done` events' `usage` the server sent. */
  responseDoneUsage: {
    count: number;
    inputTokens: number;
    outputTokens: number;
    totalTokens: number;
  };
  toolCalls: string[];
  callId: string | null;
}

const SDK_URL = "/sdk/openai-realtime-agents.mjs";

const errors: string[] = [];
const eventTypes: string[] = [];
const toolCalls: string[] = [];
const responseDoneUsage = { count: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0 };
let session: AgentsRealtime.RealtimeSession | undefined;
let transport: AgentsRealtime.OpenAIRealtimeWebRTC | undefined;
let audio: AudioContext | undefined;
let tone: AudioBuffer | undefined;
let toneOut: MediaStreamAudioDestinationNode | undefined;
let microphone: MediaStream | undefined;

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

function text(item: AgentsRealtime.RealtimeItem): string {
  if (item.type === "function_call")
    return `${item.name}(${item.arguments}) → ${item.output ?? ""}`;
  if (item.type !== "message") return "";
  return item.content
    .map((part) => {
      if ("text" in part && typeof part.text === "string") return part.text;
      if ("transcript" in part && typeof part.transcript === "string") return part.transcript;
      return "";
    })
    .join("");
}

async function start(options: StartOptions): Promise<{ connectMs: number }> {
  const sdk = (await import(SDK_URL)) as Sdk;
  audio = new AudioContext({ sampleRate: 48_000 });
  await audio.resume();
  tone = await audio.decodeAudioData(await (await fetch("/tone.wav")).arrayBuffer());
  toneOut = audio.createMediaStreamDestination();

  const getWeather = sdk.tool({
    name: "get_weather",
    description: "The weather in a city.",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
      additionalProperties: false,
    },
    strict: true,
    execute: (input: unknown) => {
      toolCalls.push(JSON.stringify(input));
      return JSON.stringify({ temperatureC: 21, sky: "clear" });
    },
  });
  const agent = new sdk.RealtimeAgent({
    name: "Conformance",
    instructions: "Answer briefly.",
    tools: [getWeather],
  });
  microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
  transport = new sdk.OpenAIRealtimeWebRTC({
    baseUrl: options.callsUrl,
    mediaStream: microphone,
    audioElement: document.querySelector("audio") ?? undefined,
  });
  session = new sdk.RealtimeSession(agent, {
    apiKey: options.secret,
    transport,
    model: options.model,
    tracingDisabled: true,
    config: {
      audio: { input: { transcription: { model: "gpt-4o-mini-transcribe" } } },
    },
  });
  session.on("error", (event) => errors.push(`session error: ${describe(event.error)}`));
  session.on("transport_event", (event) => {
    eventTypes.push(event.type);
    if (event.type === "response.done") {
      const usage = (event as { response?: { usage?: Record<string, number> } }).response?.usage;
      responseDoneUsage.count += 1;
      responseDoneUsage.inputTokens += usage?.input_tokens ?? 0;
      responseDoneUsage.outputTokens += usage?.output_tokens ?? 0;
      responseDoneUsage.totalTokens += usage?.total_tokens ?? 0;
    }
  });
  const began = performance.now();
  await session.connect({ apiKey: options.secret, url: options.callsUrl });
  return { connectMs: Math.round(performance.now() - began) };
}

/**
 * The round trip of the first data-channel messages on a bare call (no SDK): `session.update`
 * sent a while after the channel opened, until its `session.updated` arrives, `count` times.
 * werift's DTLS numbering made the first one about a second late in Chromium (see
 * standin/src/werift-dtls.ts).
 */
async function messageRoundTrips(options: StartOptions, count = 3): Promise<number[]> {
  const pc = new RTCPeerConnection();
  try {
    pc.addTransceiver("audio", { direction: "recvonly" });
    const channel = pc.createDataChannel("oai-events");
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await fetch(options.callsUrl, {
      method: "POST",
      headers: { Authorization: `Bearer ${options.secret}`, "Content-Type": "application/sdp" },
      body: pc.localDescription?.sdp ?? "",
    });
    if (answer.status !== 201) throw new Error(`the calls URL answered ${answer.status}`);
    await pc.setRemoteDescription({ type: "answer", sdp: await answer.text() });
    await new Promise((resolve) => channel.addEventListener("open", resolve, { once: true }));
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const updated = new Promise<void>((resolve) => {
        const onMessage = (event: MessageEvent<unknown>) => {
          if (typeof event.data === "string" && event.data.includes('"session.updated"')) {
            channel.removeEventListener("message", onMessage);
            resolve();
          }
        };
        channel.addEventListener("message", onMessage);
      });
      const sentAt = performance.now();
      channel.send(
        JSON.stringify({
          type: "session.update",
          session: { type: "realtime", instructions: `${i}` },
        }),
      );
      await updated;
      times.push(Math.round((performance.now() - sentAt) * 10) / 10);
    }
    return times;
  } finally {
    pc.close();
  }
}

/** Sends the tone instead of the microphone for `ms`: speech, to turn detection. */
async function speak(ms: number): Promise<void> {
  const sender = transport?.connectionState.peerConnection
    ?.getSenders()
    .find((s) => s.track?.kind === "audio");
  const toneTrack = toneOut?.stream.getAudioTracks()[0];
  if (!audio || !tone || !sender || !toneTrack) throw new Error("not connected");
  const micTrack = sender.track;
  const source = audio.createBufferSource();
  source.buffer = tone;
  source.connect(toneOut as MediaStreamAudioDestinationNode);
  source.start();
  await sender.replaceTrack(toneTrack);
  setTimeout(() => {
    void sender.replaceTrack(micTrack).then(() => source.stop());
  }, ms);
}

function snapshot(): Snapshot {
  const usage = session?.usage;
  return {
    errors: [...errors],
    eventTypes: [...eventTypes],
    history: (session?.history ?? []).map((item) => ({
      type: item.type,
      role: "role" in item ? item.role : undefined,
      status: "status" in item ? item.status : undefined,
      text: text(item),
    })),
    usage: {
      requests: usage?.requests ?? 0,
      inputTokens: usage?.inputTokens ?? 0,
      outputTokens: usage?.outputTokens ?? 0,
      totalTokens: usage?.totalTokens ?? 0,
    },
    responseDoneUsage: { ...responseDoneUsage },
    toolCalls: [...toolCalls],
    callId: transport?.callId ?? null,
  };
}

Object.assign(window, {
  __conformance: {
    start,
    messageRoundTrips,
    speak,
    snapshot,
    sendText: (message: string) => session?.sendMessage(message),
    interrupt: () => session?.interrupt(),
    close: () => {
      session?.close();
      // The SDK leaves a stream it was given running.
      for (const track of microphone?.getTracks() ?? []) track.stop();
    },
    status: () => transport?.status ?? "disconnected",
  },
});

export type { Snapshot, StartOptions };
