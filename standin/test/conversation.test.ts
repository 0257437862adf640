import { describe, expect, it } from "vitest";
import { Conversation, type Effect } from "../src/conversation.js";
import { sequentialIds } from "../src/ids.js";
import { events, find, types } from "./helpers/effects.js";
import { SCRIPT } from "../src/input-audio.js";
import { generatedMs } from "../src/responses.js";
import { resolveSession } from "../src/session.js";
import type { RealtimeSessionCreateRequest } from "openai/resources/realtime/realtime";

const AUDIO_MS = 1000;

function setup(session: Omit<RealtimeSessionCreateRequest, "type"> = {}) {
  const conversation = new Conversation({
    session: resolveSession({ type: "realtime", ...session }, { id: "sess_1", expiresAt: 0 }),
    newId: sequentialIds(),
    responseAudioMs: AUDIO_MS,
  });
  conversation.start();
  return conversation;
}

const say = (text: string) =>
  JSON.stringify({
    type: "conversation.item.create",
    item: { type: "message", role: "user", content: [{ type: "input_text", text }] },
  });

/** Plays the whole scripted audio, as the pacer would, one packet at a time. */
/** A spoken response under way (20 ms sent), its item id, and a truncate sender for it. */
function speakingResponse() {
  const conversation = setup();
  conversation.receive(say("hi"));
  conversation.receive('{"type":"response.create"}');
  const itemId = find(
    conversation.audioProgress("resp_1", 20),
    "response.output_audio_transcript.delta",
  ).item_id;
  const truncate = (ms: number) =>
    conversation.receive(
      JSON.stringify({
        type: "conversation.item.truncate",
        item_id: itemId,
        content_index: 0,
        audio_end_ms: ms,
      }),
    );
  return { conversation, itemId, truncate };
}

function playAll(conversation: Conversation, responseId: string): Effect[] {
  const out: Effect[] = [];
  for (let ms = 20; ms <= AUDIO_MS; ms += 20)
    out.push(...conversation.audioProgress(responseId, ms));
  return [...out, ...conversation.audioFinished(responseId)];
}

describe("Conversation", () => {
  it("greets with session.created carrying the session", () => {
    const conversation = new Conversation({
      session: resolveSession(
        { type: "realtime", instructions: "Be kind." },
        { id: "sess_9", expiresAt: 5 },
      ),
      newId: sequentialIds(),
      responseAudioMs: AUDIO_MS,
    });
    const created = find(conversation.start(), "session.created");
    expect(created.session).toMatchObject({
      id: "sess_9",
      instructions: "Be kind.",
      type: "realtime",
    });
  });

  it("adds items and answers an audio response with the GA sequence, paced by the audio", () => {
    const conversation = setup();
    const added = conversation.receive(say("hello there"));
    expect(types(added)).toEqual(["conversation.item.added", "conversation.item.done"]);
    expect(find(added, "conversation.item.added").item).toMatchObject({
      id: "item_1",
      status: "completed",
    });

    const started = conversation.receive('{"type":"response.create"}');
    expect(types(started)).toEqual([
      "response.created",
      "response.output_item.added",
      "conversation.item.added",
      "response.content_part.added",
      "output_audio_buffer.started",
      "[audio.start]",
    ]);
    expect(started.at(-1)).toEqual({
      kind: "audio.start",
      responseId: "resp_1",
      durationMs: AUDIO_MS,
    });
    expect(conversation.responding).toBe(true);

    const rest = playAll(conversation, "resp_1");
    const deltas = events(rest).flatMap((e) =>
      e.type === "response.output_audio_transcript.delta" ? [e.delta] : [],
    );
    expect(deltas.join("")).toBe('You said: "hello there"');
    expect(types(rest).filter((t) => !t.endsWith(".delta"))).toEqual([
      "response.output_audio_transcript.done",
      "response.content_part.done",
      "response.output_item.done",
      "conversation.item.done",
      "response.done",
      "output_audio_buffer.stopped",
    ]);
    const done = find(rest, "response.done");
    expect(done.response).toMatchObject({
      id: "resp_1",
      status: "completed",
      output: [
        {
          type: "message",
          role: "assistant",
          content: [{ type: "output_audio", transcript: 'You said: "hello there"' }],
        },
      ],
    });
    expect(done.response.usage?.output_token_details?.audio_tokens).toBe(AUDIO_MS / 50);
    expect(conversation.responding).toBe(false);
  });

  it("answers text-only sessions at once with output_text events", () => {
    const conversation = setup({ output_modalities: ["text"] });
    conversation.receive(say("ping"));
    const out = conversation.receive('{"type":"response.create"}');
    expect(types(out)).not.toContain("[audio.start]");
    expect(types(out)).not.toContain("output_audio_buffer.started");
    expect(find(out, "response.output_text.done").text).toBe('You said: "ping"');
    expect(find(out, "response.done").response.output?.[0]).toMatchObject({
      content: [{ type: "output_text", text: 'You said: "ping"' }],
    });
  });

  it("cancels an in-flight response, keeping only what was said", () => {
    const conversation = setup();
    conversation.receive(say("one two three four five six"));
    conversation.receive('{"type":"response.create"}');
    conversation.audioProgress("resp_1", 200);
    const out = conversation.receive('{"type":"response.cancel"}');
    expect(out[0]).toEqual({ kind: "audio.stop", responseId: "resp_1" });
    const done = find(out, "response.done");
    expect(done.response.status).toBe("cancelled");
    expect(done.response.status_details).toEqual({ type: "cancelled", reason: "client_cancelled" });
    const transcript = find(out, "response.output_audio_transcript.done").transcript;
    expect(transcript.length).toBeGreaterThan(0);
    expect('You said: "one two three four five six"'.startsWith(transcript)).toBe(true);
    expect(transcript).not.toBe('You said: "one two three four five six"');
    expect(types(out).at(-1)).toBe("output_audio_buffer.stopped");
    // Late audio callbacks for the cancelled response are ignored.
    expect(conversation.audioFinished("resp_1")).toEqual([]);
    const again = conversation.receive('{"type":"response.cancel","event_id":"c2"}');
    expect(find(again, "error").error).toMatchObject({
      code: "response_cancel_not_active",
      event_id: "c2",
    });
  });

  it("generates ahead of playback: response.done while the audio plays on, as upstream", () => {
    const conversation = setup();
    conversation.receive(say("one two three four five six"));
    conversation.receive('{"type":"response.create"}');
    const early = conversation.audioProgress("resp_1", 100);
    // 100 ms sent, 400 ms generated: the transcript runs ahead of the audio.
    const early_words = events(early).filter(
      (e) => e.type === "response.output_audio_transcript.delta",
    ).length;
    expect(early_words).toBeGreaterThanOrEqual(3);

    const generated = conversation.audioProgress("resp_1", 400);
    expect(find(generated, "response.done").response).toMatchObject({
      status: "completed",
      usage: { output_token_details: { audio_tokens: AUDIO_MS / 50 } },
    });
    expect(types(generated)).not.toContain("output_audio_buffer.stopped");
    expect(conversation.responding).toBe(false);
    // Done generating: nothing to cancel, but a new response may start; the audio still plays.
    const cancel = conversation.receive('{"type":"response.cancel","event_id":"c1"}');
    expect(find(cancel, "error").error.code).toBe("response_cancel_not_active");
    expect(conversation.audioProgress("resp_1", 600)).toEqual([]);
    const cleared = conversation.receive('{"type":"output_audio_buffer.clear"}');
    expect(types(cleared)).toEqual(["[audio.stop]", "output_audio_buffer.cleared"]);
    expect(conversation.audioFinished("resp_1")).toEqual([]);
  });

  it("refuses a second response while one is active", () => {
    const conversation = setup();
    conversation.receive('{"type":"response.create"}');
    const out = conversation.receive('{"type":"response.create"}');
    expect(find(out, "error").error.code).toBe("conversation_already_has_active_response");
  });

  it("clears the output audio: audio stops, the response completes", () => {
    const conversation = setup();
    conversation.receive(say("hi"));
    conversation.receive('{"type":"response.create"}');
    conversation.audioProgress("resp_1", 100);
    const out = conversation.receive('{"type":"output_audio_buffer.clear"}');
    expect(types(out).slice(0, 2)).toEqual(["[audio.stop]", "output_audio_buffer.cleared"]);
    expect(find(out, "output_audio_buffer.cleared").response_id).toBe("resp_1");
    expect(find(out, "response.done").response.status).toBe("completed");
  });

  it("keeps a truncation while the response's audio goes on", () => {
    const { conversation, truncate } = speakingResponse();
    conversation.audioProgress("resp_1", 300);
    expect(find(truncate(200), "conversation.item.truncated").audio_end_ms).toBe(200);
    // No cancel: more audio goes out, but the item stays cut where the client said.
    conversation.audioProgress("resp_1", 600);
    expect(find(truncate(250), "error").error.message).toBe(
      "Audio content of 200ms is already shorter than 250ms",
    );
  });

  it("truncates within the audio generated and refuses beyond it", () => {
    const { conversation, itemId, truncate } = speakingResponse();
    conversation.audioProgress("resp_1", 200);
    conversation.receive('{"type":"response.cancel"}');

    // 200 ms sent: generation ran ahead to 200 + 2 × 200 ms, as long as the item's audio is.
    expect(generatedMs(200, AUDIO_MS)).toBe(600);
    const beyond = find(truncate(601), "error").error;
    expect(beyond).toMatchObject({ code: "invalid_value", param: "audio_end_ms" });
    expect(beyond.message).toBe("Audio content of 600ms is already shorter than 601ms");

    expect(find(truncate(250), "conversation.item.truncated")).toMatchObject({
      item_id: itemId,
      audio_end_ms: 250,
    });
    const retrieved = find(
      conversation.receive(JSON.stringify({ type: "conversation.item.retrieve", item_id: itemId })),
      "conversation.item.retrieved",
    );
    expect(retrieved.item).toMatchObject({ content: [{ type: "output_audio", transcript: "" }] });
    expect(find(truncate(300), "error").error.param).toBe("audio_end_ms");

    const missing = conversation.receive(
      '{"type":"conversation.item.truncate","item_id":"nope","content_index":0,"audio_end_ms":0}',
    );
    expect(find(missing, "error").error.code).toBe("item_truncate_invalid_item_id");
  });

  it("calls a mentioned tool, then quotes its output", () => {
    const conversation = setup({
      output_modalities: ["text"],
      tools: [
        {
          type: "function",
          name: "get_weather",
          parameters: {
            type: "object",
            properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
          },
        },
      ],
    });
    conversation.receive(say("What does get_weather say for Paris?"));
    const call = conversation.receive('{"type":"response.create"}');
    expect(types(call)).toEqual([
      "response.created",
      "response.output_item.added",
      "conversation.item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "conversation.item.done",
      "response.output_item.done",
      "response.done",
    ]);
    const args = find(call, "response.function_call_arguments.done");
    expect(args.name).toBe("get_weather");
    expect(JSON.parse(args.arguments)).toEqual({
      city: "What does get_weather say for Paris?",
      unit: "c",
    });
    const deltas = events(call).flatMap((e) =>
      e.type === "response.function_call_arguments.delta" ? [e.delta] : [],
    );
    expect(deltas.join("")).toBe(args.arguments);
    expect(find(call, "response.output_item.done").item).toMatchObject({
      type: "function_call",
      status: "completed",
      call_id: args.call_id,
      arguments: args.arguments,
    });

    // Asking again before the output arrives does not loop on the tool.
    expect(
      find(conversation.receive('{"type":"response.create"}'), "response.output_text.done").text,
    ).toBe("Waiting for the output of get_weather.");
    conversation.receive(
      JSON.stringify({
        type: "conversation.item.create",
        item: { type: "function_call_output", call_id: args.call_id, output: '{"temp":21}' },
      }),
    );
    const answer = conversation.receive('{"type":"response.create"}');
    expect(find(answer, "response.output_text.done").text).toBe(
      'The get_weather tool returned: {"temp":21}',
    );
  });

  it("does not call tools that are not mentioned, or when tool_choice is none", () => {
    const tools = [{ type: "function" as const, name: "lookup" }];
    const auto = setup({ output_modalities: ["text"], tools });
    auto.receive(say("hello"));
    expect(types(auto.receive('{"type":"response.create"}'))).not.toContain(
      "response.function_call_arguments.done",
    );
    const none = setup({ output_modalities: ["text"], tools, tool_choice: "none" });
    none.receive(say("please lookup"));
    expect(types(none.receive('{"type":"response.create"}'))).not.toContain(
      "response.function_call_arguments.done",
    );
    const forced = setup({
      output_modalities: ["text"],
      tools,
      tool_choice: { type: "function", name: "lookup" },
    });
    forced.receive(say("hello"));
    expect(
      find(forced.receive('{"type":"response.create"}'), "response.function_call_arguments.done")
        .name,
    ).toBe("lookup");
  });

  it("applies session.update, refuses a model change, and locks the voice after audio", () => {
    const conversation = setup();
    const updated = find(
      conversation.receive(
        '{"type":"session.update","session":{"type":"realtime","instructions":"Now terse.","audio":{"output":{"voice":"verse"}}}}',
      ),
      "session.updated",
    );
    expect(updated.session).toMatchObject({
      instructions: "Now terse.",
      audio: { output: { voice: "verse" } },
    });
    expect(conversation.currentSession.instructions).toBe("Now terse.");

    const model = find(
      conversation.receive(
        '{"type":"session.update","event_id":"u1","session":{"type":"realtime","model":"gpt-realtime-mini"}}',
      ),
      "error",
    );
    expect(model.error).toMatchObject({
      type: "invalid_request_error",
      param: "session.model",
      event_id: "u1",
    });
    expect(conversation.currentSession.model).toBe("gpt-realtime");

    conversation.receive('{"type":"response.create"}');
    const voice = conversation.receive(
      '{"type":"session.update","session":{"type":"realtime","audio":{"output":{"voice":"ash"}}}}',
    );
    expect(find(voice, "error").error.code).toBe("cannot_update_voice");
  });

  it("turns bad input into upstream-shaped error events", () => {
    const conversation = setup();
    const [effect] = conversation.receive("not json");
    expect(effect).toMatchObject({
      kind: "send",
      event: {
        type: "error",
        event_id: "event_2",
        error: { type: "invalid_request_error", code: "invalid_json" },
      },
    });
    expect(
      find(conversation.receive('{"type":"response.audio.delta"}'), "error").error,
    ).toMatchObject({
      code: "invalid_value",
      param: "type",
    });
  });

  it("detects speech turns from voiced mic packets, transcribes, and answers", () => {
    const conversation = setup({
      audio: {
        input: {
          transcription: { model: "gpt-4o-mini-transcribe" },
          turn_detection: { type: "server_vad", silence_duration_ms: 200 },
        },
      },
    });
    const out: Effect[] = [];
    for (let i = 0; i < 10; i++) out.push(...conversation.micPacket(3));
    expect(out).toEqual([]);
    for (let i = 0; i < 30; i++) out.push(...conversation.micPacket(SCRIPT.voicedMinBytes));
    for (let i = 0; i < 10; i++) out.push(...conversation.micPacket(3));
    expect(types(out)).toEqual([
      "input_audio_buffer.speech_started",
      "input_audio_buffer.speech_stopped",
      "input_audio_buffer.committed",
      "conversation.item.added",
      "conversation.item.done",
      "conversation.item.input_audio_transcription.completed",
      "response.created",
      "response.output_item.added",
      "conversation.item.added",
      "response.content_part.added",
      "output_audio_buffer.started",
      "[audio.start]",
    ]);
    expect(find(out, "input_audio_buffer.speech_started")).toMatchObject({ audio_start_ms: 0 });
    expect(find(out, "input_audio_buffer.speech_stopped").audio_end_ms).toBe(800);
    const transcript = find(
      out,
      "conversation.item.input_audio_transcription.completed",
    ).transcript;
    expect(transcript).toBe("Placeholder transcript: 600 ms of speech.");
    // As upstream: the item goes out before its transcription, with `transcript: null`.
    expect(find(out, "conversation.item.added").item).toMatchObject({
      role: "user",
      content: [{ type: "input_audio", transcript: null }],
    });
    expect(find(out, "conversation.item.done").item).toMatchObject({
      content: [{ type: "input_audio", transcript: null }],
    });

    // New speech while the assistant talks interrupts it, as server VAD does.
    const barge = conversation.micPacket(200);
    expect(types(barge)).toContain("[audio.stop]");
    expect(find(barge, "response.done").response.status_details).toEqual({
      type: "cancelled",
      reason: "turn_detected",
    });
    expect(types(barge).at(-1)).toBe("output_audio_buffer.cleared");
  });

  it("answers a speech turn with the placeholder transcript", () => {
    const conversation = setup({
      output_modalities: ["text"],
      audio: { input: { turn_detection: { type: "semantic_vad" } } },
    });
    const out: Effect[] = [];
    for (let i = 0; i < 5; i++) out.push(...conversation.micPacket(100));
    for (let i = 0; i < SCRIPT.semanticSilenceMs / 20; i++) out.push(...conversation.micPacket(1));
    expect(types(out)).not.toContain("conversation.item.input_audio_transcription.completed");
    expect(find(out, "response.output_text.done").text).toBe(
      'You said: "Placeholder transcript: 100 ms of speech."',
    );
  });

  it("commits the input buffer manually when turn detection is off", () => {
    const conversation = setup({ audio: { input: { turn_detection: null } } });
    for (let i = 0; i < 4; i++) expect(conversation.micPacket(200)).toEqual([]);
    expect(
      find(conversation.receive('{"type":"input_audio_buffer.commit"}'), "error").error.code,
    ).toBe("input_audio_buffer_commit_empty");
    conversation.micPacket(3);
    const committed = conversation.receive('{"type":"input_audio_buffer.commit"}');
    expect(types(committed)).toEqual([
      "input_audio_buffer.committed",
      "conversation.item.added",
      "conversation.item.done",
    ]);
    expect(
      find(
        conversation.receive('{"type":"input_audio_buffer.clear"}'),
        "input_audio_buffer.cleared",
      ),
    ).toBeTruthy();
  });

  it("answers out-of-band responses from their own input, outside the conversation", () => {
    const conversation = setup();
    conversation.receive(say("in the conversation"));
    const out = conversation.receive(
      JSON.stringify({
        type: "response.create",
        response: {
          conversation: "none",
          output_modalities: ["text"],
          metadata: { purpose: "summary" },
          input: [
            {
              type: "message",
              role: "user",
              content: [{ type: "input_text", text: "out of band" }],
            },
          ],
        },
      }),
    );
    expect(types(out)).not.toContain("conversation.item.added");
    expect(find(out, "response.output_text.done").text).toBe('You said: "out of band"');
    const done = find(out, "response.done");
    expect(done.response.metadata).toEqual({ purpose: "summary" });
    expect(done.response.conversation_id).toBeUndefined();
    // The conversation itself is unchanged: the next normal answer still quotes its last user item.
    const next = conversation.receive(
      '{"type":"response.create","response":{"output_modalities":["text"]}}',
    );
    expect(find(next, "response.output_text.done").text).toBe('You said: "in the conversation"');
  });

  it("recalls the user message before the question, from items created by the client", () => {
    const conversation = setup();
    const assistant = (text: string) =>
      JSON.stringify({
        type: "conversation.item.create",
        item: {
          id: "restored_1_1",
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text }],
        },
      });
    const text = '{"type":"response.create","response":{"output_modalities":["text"]}}';
    conversation.receive(say("What did I say?"));
    expect(find(conversation.receive(text), "response.output_text.done").text).toBe(
      "You had not said anything before.",
    );
    conversation.receive(say("The password is tangerine"));
    conversation.receive(assistant('You said: "The password is tangerine"'));
    conversation.receive(say("What did I just say?"));
    expect(find(conversation.receive(text), "response.output_text.done").text).toBe(
      'Earlier you said: "The password is tangerine"',
    );
    expect(conversation.itemRecords.slice(2, 5)).toEqual([
      { id: "item_3", type: "message", role: "user", text: "The password is tangerine" },
      {
        id: "restored_1_1",
        type: "message",
        role: "assistant",
        text: 'You said: "The password is tangerine"',
      },
      { id: "item_4", type: "message", role: "user", text: "What did I just say?" },
    ]);
  });

  it("counts appended PCM in the input buffer", () => {
    const conversation = setup({ audio: { input: { turn_detection: null } } });
    // 4800 bytes of 24 kHz 16-bit PCM = 100 ms, the minimum upstream commits.
    const audio = Buffer.alloc(4800).toString("base64");
    conversation.receive(JSON.stringify({ type: "input_audio_buffer.append", audio }));
    expect(types(conversation.receive('{"type":"input_audio_buffer.commit"}'))).toContain(
      "input_audio_buffer.committed",
    );
  });

  it("deletes and retrieves items, with upstream's errors for unknown ids", () => {
    const conversation = setup();
    conversation.receive(say("a"));
    expect(
      find(
        conversation.receive('{"type":"conversation.item.delete","item_id":"item_1"}'),
        "conversation.item.deleted",
      ).item_id,
    ).toBe("item_1");
    expect(
      find(
        conversation.receive('{"type":"conversation.item.retrieve","item_id":"item_1"}'),
        "error",
      ).error.code,
    ).toBe("item_retrieve_invalid_item_id");
  });

  it("reports the session's end at the maximum duration", () => {
    const error = find(setup().expire(1800), "error").error;
    expect(error).toMatchObject({
      code: "session_expired",
      message: "Your session hit the maximum duration of 30 minutes.",
    });
  });
});
