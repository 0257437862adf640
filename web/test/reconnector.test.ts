import { FunctionsError } from "firebase/functions";
import { describe, expect, it } from "vitest";
import type { RealtimeCallResponse } from "voice-contract";
import { RealtimeConnectError } from "../src/realtime/errors";
import type { SdpExchange } from "../src/realtime/exchange";
import { classifyDrop, type ReconnectPolicy } from "../src/realtime/reconnect";
import {
  Reconnector,
  type ReconnectorOptions,
  type ReconnectorState,
} from "../src/realtime/reconnector";
import { RealtimeSession, type RealtimeSessionOptions } from "../src/realtime/session";
import type { ConversationEntry } from "../src/realtime/types";
import { brokeredExchange } from "../src/backend/brokered";
import {
  FAKE_ANSWER_SDP,
  FakeClock,
  FakePeerConnection,
  FakeStream,
  fakeFetch,
  flush,
  fakeCallResponse,
  type FakeResponseInit,
} from "./fakes";
import { CALLS_URL, TOKEN } from "./harness";

const POLICY: ReconnectPolicy = { maxTries: 3, baseDelayMs: 1000, maxDelayMs: 4000 };

/**
 * A reconnector over real sessions wired to the fakes. The sessions run on a clock of their
 * own that never moves (their link watch would otherwise end them), the backoff on `clock`.
 */
function rig(
  options: Partial<ReconnectorOptions> = {},
  session: Partial<RealtimeSessionOptions> = {},
) {
  const clock = new FakeClock();
  const sessionClock = new FakeClock();
  const pcs: FakePeerConnection[] = [];
  const sessions: RealtimeSession[] = [];
  let answer: () => FakeResponseInit = () => ({
    status: 201,
    body: FAKE_ANSWER_SDP,
    headers: { Location: `/v1/realtime/calls/rtc_${sessions.length}` },
  });
  const fetch = fakeFetch(() => answer());
  const histories: (readonly ConversationEntry[])[] = [];
  const reconnector = new Reconnector({
    createSession: (history) => {
      histories.push(history);
      const created = new RealtimeSession({
        getToken: async () => TOKEN,
        callsUrl: CALLS_URL,
        createPeerConnection: () => {
          const pc = new FakePeerConnection();
          pcs.push(pc);
          return pc;
        },
        getUserMedia: async () => new FakeStream(),
        fetch,
        clock: sessionClock,
        isAndroid: false,
        ...session,
      } as RealtimeSessionOptions);
      sessions.push(created);
      return created;
    },
    clock,
    random: () => 0,
    policy: POLICY,
    ...options,
  });
  const states: ReconnectorState[] = [];
  reconnector.on("state", (state) => states.push(state));
  const rendered: (readonly ConversationEntry[])[] = [];
  reconnector.on("conversation", (entries) => rendered.push(entries));
  return {
    reconnector,
    clock,
    sessions,
    states,
    rendered,
    histories,
    fetch,
    answerWith(next: () => FakeResponseInit) {
      answer = next;
    },
    /** The peer connection of the latest session. */
    get pc(): FakePeerConnection {
      const pc = pcs.at(-1);
      if (!pc) throw new Error("no peer connection yet");
      return pc;
    },
  };
}

type Rig = ReturnType<typeof rig>;

/** Lets the latest session's SDP exchange finish, then opens its channel. */
async function openChannel(t: Rig): Promise<void> {
  await flush();
  t.pc.channel.open();
  await flush();
}

async function started(options?: Partial<ReconnectorOptions>) {
  const t = rig(options);
  const starting = t.reconnector.start();
  await openChannel(t);
  await starting;
  return t;
}

/** One typed exchange on the live call, as the server plays it. */
function exchange(t: Rig, n: number): void {
  t.sessions.at(-1)?.sendText(`Question ${n}`);
  const ch = t.pc.channel;
  ch.receive({
    type: "conversation.item.added",
    item: {
      id: `item_u${n}`,
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: `Question ${n}` }],
    },
  });
  ch.receive({
    type: "response.output_item.added",
    response_id: `resp_${n}`,
    output_index: 0,
    item: { id: `item_a${n}`, type: "message", role: "assistant", content: [] },
  });
  ch.receive({
    type: "response.output_text.done",
    response_id: `resp_${n}`,
    item_id: `item_a${n}`,
    output_index: 0,
    content_index: 0,
    text: `Answer ${n}`,
  });
}

const created = (t: Rig) =>
  t.pc.channel.sentEvents.filter((event) => event.type === "conversation.item.create");

describe("Reconnector", () => {
  it("opens a new call after a drop and replays the conversation before anything else, without asking for a response", async () => {
    const t = await started();
    expect(t.states.at(-1)).toEqual({ status: "connected", callId: "rtc_1", calls: 1 });
    exchange(t, 1);
    exchange(t, 2);

    t.pc.channel.remoteClose();
    expect(t.states.at(-1)).toEqual({
      status: "reconnecting",
      attempt: 1,
      maxTries: 3,
      drop: { kind: "channel-closed" },
      lastError: null,
    });
    expect(t.reconnector.session).toBeNull();
    t.clock.advance(499);
    expect(t.sessions).toHaveLength(1);
    t.clock.advance(1);
    expect(t.sessions).toHaveLength(2);
    await openChannel(t);

    expect(t.states.at(-1)).toEqual({ status: "connected", callId: "rtc_2", calls: 2 });
    expect(t.pc.channel.sentTypes).toEqual([
      "conversation.item.create",
      "conversation.item.create",
      "conversation.item.create",
      "conversation.item.create",
    ]);
    expect(created(t).map((event) => event.item)).toEqual([
      {
        id: "restored_1_0",
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "Question 1" }],
      },
      {
        id: "restored_1_1",
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "Answer 1" }],
      },
      {
        id: "restored_1_2",
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "Question 2" }],
      },
      {
        id: "restored_1_3",
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "Answer 2" }],
      },
    ]);
    // The whole conversation stays in view across the calls.
    expect(t.reconnector.conversation.map((entry) => entry.id)).toEqual([
      "item_u1",
      "item_a1",
      "item_u2",
      "item_a2",
    ]);
  });

  it("does not mistake the server's echo of a replayed item for the user's typed message", async () => {
    const t = await started();
    exchange(t, 1);
    t.pc.channel.remoteClose();
    t.clock.advance(500);
    await openChannel(t);
    // The user types at once; the echo of the replay arrives before the echo of their message.
    t.sessions.at(-1)?.sendText("New question");
    t.pc.channel.receive({
      type: "conversation.item.added",
      item: {
        id: "restored_1_0",
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "Question 1" }],
      },
    });
    expect(t.reconnector.conversation.at(-1)).toMatchObject({
      kind: "user",
      text: "New question",
      status: "sending",
    });
    t.pc.channel.receive({
      type: "conversation.item.added",
      item: {
        id: "item_u9",
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "New question" }],
      },
    });
    expect(t.reconnector.conversation.map((entry) => [entry.id, entry.kind])).toEqual([
      ["item_u1", "user"],
      ["item_a1", "assistant"],
      ["item_u9", "user"],
    ]);
    expect(t.rendered.at(-1)).toEqual(t.reconnector.conversation);
  });

  it("replays only settled turns: not a message the old call never confirmed, not an answer cut off by the drop", async () => {
    const t = await started();
    exchange(t, 1);
    t.sessions.at(-1)?.sendText("Lost question");
    t.pc.channel.receive({
      type: "response.output_item.added",
      response_id: "resp_x",
      output_index: 0,
      item: { id: "item_ax", type: "message", role: "assistant", content: [] },
    });
    t.pc.channel.receive({
      type: "response.output_text.delta",
      response_id: "resp_x",
      item_id: "item_ax",
      output_index: 0,
      content_index: 0,
      delta: "Half an ans",
    });
    t.pc.setConnectionState("failed");
    expect(
      t.reconnector.conversation.map((entry) => entry.kind === "user" && entry.status),
    ).toEqual(["done", false, "not-delivered", false]);
    t.clock.advance(500);
    await openChannel(t);
    expect(created(t).map((event) => event.item)).toMatchObject([
      { role: "user", content: [{ text: "Question 1" }] },
      { role: "assistant", content: [{ text: "Answer 1" }] },
    ]);
  });

  it("with restore 'request', hands the settled turns to createSession and sends nothing on the channel", async () => {
    const t = await started({ restore: "request" });
    exchange(t, 1);
    t.sessions.at(-1)?.sendText("Lost question");
    t.pc.setConnectionState("failed");
    t.clock.advance(500);
    await openChannel(t);
    expect(t.histories[0]).toEqual([]);
    expect(t.histories[1]).toMatchObject([
      { kind: "user", text: "Question 1", status: "done" },
      { kind: "assistant", text: "Answer 1" },
    ]);
    expect(t.histories[1]).toHaveLength(2);
    expect(created(t)).toEqual([]);
    expect(t.reconnector.state).toMatchObject({ status: "connected", calls: 2 });
  });

  it("replays the conversation of every earlier call after a second drop, each item once", async () => {
    const t = await started();
    exchange(t, 1);
    t.pc.channel.remoteClose();
    t.clock.advance(500);
    await openChannel(t);
    exchange(t, 2);
    t.pc.channel.remoteClose();
    t.clock.advance(500);
    await openChannel(t);
    const items = created(t).map(
      (event) => event.item as { id: string; content: { text: string }[] },
    );
    expect(items.map((item) => item.content[0]?.text)).toEqual([
      "Question 1",
      "Answer 1",
      "Question 2",
      "Answer 2",
    ]);
    expect(new Set(items.map((item) => item.id)).size).toBe(4);
    expect(t.states.at(-1)).toMatchObject({ status: "connected", calls: 3 });
  });

  it("keeps to the restore budget: the newest turns go, older ones are dropped", async () => {
    const t = await started({ restoreBudget: { maxChars: 20 } });
    exchange(t, 1);
    exchange(t, 2);
    t.pc.channel.remoteClose();
    t.clock.advance(500);
    await openChannel(t);
    expect(created(t).map((event) => event.item)).toMatchObject([
      { content: [{ text: "Question 2" }] },
      { content: [{ text: "Answer 2" }] },
    ]);
  });

  it("backs off between failed tries, gives up after maxTries, and Try again (resume) restores the conversation", async () => {
    const t = await started();
    exchange(t, 1);
    t.answerWith(() => ({
      status: 503,
      body: JSON.stringify({ error: { message: "Overloaded.", type: "server_error" } }),
    }));
    t.pc.setConnectionState("failed");
    const started1 = t.sessions.length;
    // Delays with no jitter: 500 ms, 1 s, 2 s (half of 1, 2, 4 s).
    for (const [attempt, delay] of [
      [1, 500],
      [2, 1000],
      [3, 2000],
    ] as const) {
      expect(t.states.at(-1)).toMatchObject({ status: "reconnecting", attempt, maxTries: 3 });
      t.clock.advance(delay - 1);
      expect(t.sessions).toHaveLength(started1 + attempt - 1);
      t.clock.advance(1);
      expect(t.sessions).toHaveLength(started1 + attempt);
      await flush();
      await flush();
    }
    const gaveUp = t.states.at(-1);
    expect(gaveUp).toMatchObject({
      status: "gave-up",
      reason: "exhausted",
      tries: 3,
      drop: { kind: "ice-failed" },
    });
    expect(
      gaveUp?.status === "gave-up" && gaveUp.reason === "exhausted" && gaveUp.lastError,
    ).toMatchObject({
      stage: "sdp",
      failure: "rejected",
    });
    t.clock.advance(60_000);
    expect(t.sessions).toHaveLength(started1 + 3);
    expect(t.clock.pendingTimers).toBe(0);

    t.answerWith(() => ({
      status: 201,
      body: FAKE_ANSWER_SDP,
      headers: { Location: "/v1/realtime/calls/rtc_back" },
    }));
    t.reconnector.resume();
    expect(t.states.at(-1)).toMatchObject({ status: "reconnecting", attempt: 1 });
    t.clock.advance(500);
    await openChannel(t);
    expect(t.states.at(-1)).toEqual({ status: "connected", callId: "rtc_back", calls: 2 });
    expect(created(t).map((event) => event.item)).toMatchObject([
      { content: [{ text: "Question 1" }] },
      { content: [{ text: "Answer 1" }] },
    ]);
  });

  it("counts tries from zero again once a call is live", async () => {
    const t = await started();
    t.answerWith(() => ({ status: 500, body: "{}" }));
    t.pc.channel.remoteClose();
    t.clock.advance(500);
    await flush();
    await flush();
    expect(t.states.at(-1)).toMatchObject({ status: "reconnecting", attempt: 2 });
    t.answerWith(() => ({
      status: 201,
      body: FAKE_ANSWER_SDP,
      headers: { Location: "/v1/realtime/calls/rtc_x" },
    }));
    t.clock.advance(1000);
    await openChannel(t);
    expect(t.states.at(-1)).toMatchObject({ status: "connected" });
    t.pc.channel.remoteClose();
    expect(t.states.at(-1)).toMatchObject({ status: "reconnecting", attempt: 1 });
  });

  it("sees a call that drops before connect() has returned", async () => {
    const t = rig();
    const starting = t.reconnector.start();
    // The drop comes while the session reports itself connected, before connect() returns.
    t.sessions[0]?.on("state", (state) => {
      if (state.status === "connected") t.pc.channel.remoteClose();
    });
    await openChannel(t);
    await starting;
    expect(t.sessions[0]?.state.status).toBe("closed");
    expect(t.states.map((state) => state.status)).toEqual([
      "connecting",
      "connected",
      "reconnecting",
    ]);
    t.clock.advance(500);
    expect(t.sessions).toHaveLength(2);
  });

  it("opens the next call at once at the session cap", async () => {
    const t = await started();
    exchange(t, 1);
    t.pc.channel.receive({
      type: "error",
      error: {
        type: "invalid_request_error",
        code: "session_expired",
        message: "Your session hit the maximum duration of 60 minutes.",
      },
    });
    expect(t.states.at(-1)).toMatchObject({
      status: "reconnecting",
      attempt: 1,
      drop: { kind: "server-limit" },
    });
    t.clock.advance(0);
    expect(t.sessions).toHaveLength(2);
    await openChannel(t);
    expect(t.states.at(-1)).toMatchObject({ status: "connected", calls: 2 });
    expect(created(t)).toHaveLength(2);
  });

  it("never reconnects after the user's stop(), also when it comes during the backoff", async () => {
    const t = await started();
    const first = t.sessions[0];
    t.reconnector.stop();
    expect(first?.state).toEqual({ status: "closed", reason: { kind: "client" } });
    expect(t.states.at(-1)).toEqual({ status: "idle" });
    t.reconnector.stop();
    expect(t.states.filter((state) => state.status === "idle")).toHaveLength(1);

    const u = await started();
    u.pc.channel.remoteClose();
    expect(u.clock.pendingTimers).toBe(1);
    u.reconnector.stop();
    expect(u.clock.pendingTimers).toBe(0);
    u.clock.advance(60_000);
    expect(u.sessions).toHaveLength(1);
    expect(u.states.at(-1)).toEqual({ status: "idle" });
  });

  it("ends the conversation, without a reconnect, when the page classifies the drop as ended on purpose", async () => {
    const t = await started({ classify: () => ({ kind: "ended" }) });
    exchange(t, 1);
    t.pc.channel.remoteClose();
    expect(t.states.at(-1)).toEqual({ status: "ended", drop: { kind: "channel-closed" } });
    expect(t.clock.pendingTimers).toBe(0);
    t.clock.advance(60_000);
    expect(t.sessions).toHaveLength(1);
    // Nothing to resume: a new conversation starts with Connect.
    t.reconnector.resume();
    expect(t.sessions).toHaveLength(1);
    expect(t.reconnector.conversation.map((entry) => entry.kind)).toEqual(["user", "assistant"]);
    t.reconnector.stop();
    expect(t.states.at(-1)).toEqual({ status: "idle" });
  });

  it("stops a try that is still opening when the user stops", async () => {
    const t = await started();
    t.pc.channel.remoteClose();
    t.clock.advance(500);
    await flush();
    const opening = t.sessions[1];
    t.reconnector.stop();
    await flush();
    expect(opening?.state).toEqual({ status: "closed", reason: { kind: "client" } });
    expect(t.states.at(-1)).toEqual({ status: "idle" });
    expect(t.clock.pendingTimers).toBe(0);
  });

  it("does not reconnect a session disposed from outside (the page going away)", async () => {
    const t = await started();
    t.sessions[0]?.dispose();
    expect(t.states.at(-1)).toEqual({ status: "idle" });
    expect(t.clock.pendingTimers).toBe(0);
  });

  it("gives up at once, with the error, when the microphone is refused on a try", async () => {
    let denied = false;
    const t = rig(
      {},
      {
        getUserMedia: async () => {
          if (denied) throw new DOMException("Permission denied", "NotAllowedError");
          return new FakeStream();
        },
      },
    );
    const starting = t.reconnector.start();
    await openChannel(t);
    await starting;
    denied = true;
    t.pc.channel.remoteClose();
    t.clock.advance(500);
    await flush();
    await flush();
    const state = t.states.at(-1);
    expect(state).toMatchObject({ status: "gave-up", reason: "fatal" });
    expect(state?.status === "gave-up" && state.reason === "fatal" && state.error.failure).toBe(
      "denied",
    );
    expect(t.sessions).toHaveLength(2);
    expect(t.clock.pendingTimers).toBe(0);
  });

  it("rejects a failed first call without retrying: there is nothing to restore", async () => {
    const t = rig();
    t.answerWith(() => ({ status: 500, body: "{}" }));
    await expect(t.reconnector.start()).rejects.toBeInstanceOf(RealtimeConnectError);
    expect(t.states.at(-1)).toMatchObject({ status: "failed", error: { failure: "rejected" } });
    t.clock.advance(60_000);
    expect(t.sessions).toHaveLength(1);
  });

  it("in brokered mode opens each reconnect as a new call, and a spent minute budget stops it with the budget's refusal", async () => {
    const requests: unknown[] = [];
    let budgetLeft = 1;
    const broker: SdpExchange = brokeredExchange({
      call: async (request) => {
        requests.push(request);
        if (budgetLeft-- <= 0) {
          throw new FunctionsError("resource-exhausted", "You have used today's voice minutes.", {
            reason: "daily-minutes",
            retryAfterSeconds: 3600,
          });
        }
        return brokeredResult(`rtc_b${requests.length}`);
      },
      end: async () => undefined,
      choices: {},
    });
    const t = rig({ classify: (reason) => classifyDrop(reason) }, { exchange: broker });
    const starting = t.reconnector.start();
    await openChannel(t);
    await starting;
    expect(t.states.at(-1)).toMatchObject({ status: "connected", callId: "rtc_b1" });
    t.pc.channel.remoteClose();
    t.clock.advance(500);
    await flush();
    await flush();
    const state = t.states.at(-1);
    expect(state).toMatchObject({ status: "gave-up", reason: "fatal" });
    expect(state?.status === "gave-up" && state.reason === "fatal" && state.error.failure).toBe(
      "out-of-minutes",
    );
    expect(requests).toHaveLength(2);
    t.clock.advance(60_000);
    expect(requests).toHaveLength(2);
  });
});

function brokeredResult(callId: string): RealtimeCallResponse {
  return fakeCallResponse({
    callId,
    limitedBy: "daily-minutes",
    session: { ...fakeCallResponse().session, turnDetection: "server_vad", eagerness: null },
  });
}
