import type { RealtimeConversationItemUserMessage } from "openai/resources/realtime/realtime";
import { describe, expect, it } from "vitest";
import { sequentialIds } from "../src/ids.js";
import { ItemEvents } from "../src/item-events.js";
import type { StoredItem } from "../src/items.js";
import { find, types } from "./helpers/effects.js";

const userText = (text: string): RealtimeConversationItemUserMessage => ({
  type: "message",
  role: "user",
  content: [{ type: "input_text", text }],
});

describe("ItemEvents", () => {
  it("creates items in place, announcing each with added and done after its predecessor", () => {
    const items = new ItemEvents(sequentialIds());
    expect(types(items.create(userText("a"), undefined, null))).toEqual([
      "conversation.item.added",
      "conversation.item.done",
    ]);
    const first = find(items.create(userText("b"), "root", null), "conversation.item.added");
    expect(first.previous_item_id).toBeNull();
    const middle = find(items.create(userText("c"), "item_2", null), "conversation.item.done");
    expect(middle.previous_item_id).toBe("item_2");
    expect(items.records.map((r) => r.text)).toEqual(["b", "c", "a"]);
  });

  it("refuses a taken id and an unknown predecessor, answering the client's event", () => {
    const items = new ItemEvents(sequentialIds());
    items.create({ ...userText("a"), id: "mine" }, undefined, null);
    expect(
      find(items.create({ ...userText("b"), id: "mine" }, undefined, "evt_1"), "error").error,
    ).toEqual({
      type: "invalid_request_error",
      code: "invalid_value",
      message: "Item with id 'mine' already exists.",
      param: "item.id",
      event_id: "evt_1",
    });
    expect(find(items.create(userText("b"), "nope", null), "error").error).toMatchObject({
      code: "invalid_value",
      message: "The previous_item_id 'nope' does not exist.",
      param: "previous_item_id",
    });
    expect(items.records).toHaveLength(1);
  });

  it("retrieves and deletes, with upstream's wording for unknown ids", () => {
    const items = new ItemEvents(sequentialIds());
    items.create(userText("a"), undefined, null);
    expect(find(items.retrieve("item_1", null), "conversation.item.retrieved").item.id).toBe(
      "item_1",
    );
    expect(find(items.delete("item_1", "evt_2"), "conversation.item.deleted").item_id).toBe(
      "item_1",
    );
    expect(find(items.delete("item_1", "evt_3"), "error").error).toEqual({
      type: "invalid_request_error",
      code: "item_delete_invalid_item_id",
      message: "Error deleting item: the item with id 'item_1' does not exist.",
      param: "item_id",
      event_id: "evt_3",
    });
    expect(find(items.retrieve("item_1", null), "error").error.message).toBe(
      "Error retrieving item: the item with id 'item_1' does not exist.",
    );
  });

  it("truncates only the item whose audio is streaming or an assistant audio message", () => {
    const items = new ItemEvents(sequentialIds());
    items.create(userText("a"), undefined, null);
    const request = { itemId: "item_1", contentIndex: 0, audioEndMs: 0 };
    expect(find(items.truncate(request, undefined, null), "error").error).toMatchObject({
      code: "invalid_value",
      message: "Only assistant messages with audio can be truncated.",
      param: "item_id",
    });
    const streaming = items.store.find("item_1") as StoredItem;
    expect(find(items.truncate(request, streaming, null), "conversation.item.truncated")).toEqual(
      expect.objectContaining({ item_id: "item_1", content_index: 0, audio_end_ms: 0 }),
    );
    expect(
      find(items.truncate({ ...request, itemId: "nope" }, streaming, null), "error").error.code,
    ).toBe("item_truncate_invalid_item_id");
  });

  it("commits user audio as an item with a pending transcript, transcribed only when asked", () => {
    const items = new ItemEvents(sequentialIds());
    const quiet = items.commitUserAudio("item_9", 400, "audio", false);
    expect(types(quiet)).toEqual([
      "input_audio_buffer.committed",
      "conversation.item.added",
      "conversation.item.done",
    ]);
    expect(find(quiet, "conversation.item.added").item).toMatchObject({
      content: [{ type: "input_audio", transcript: null }],
    });
    const spoken = items.commitUserAudio("item_10", 700, "speech", true);
    expect(find(spoken, "input_audio_buffer.committed").previous_item_id).toBe("item_9");
    expect(find(spoken, "conversation.item.input_audio_transcription.completed")).toMatchObject({
      item_id: "item_10",
      transcript: "Placeholder transcript: 700 ms of speech.",
      usage: { type: "duration", seconds: 0.7 },
    });
    expect(items.records.map((r) => r.text)).toEqual([
      "Placeholder transcript: 400 ms of audio.",
      "Placeholder transcript: 700 ms of speech.",
    ]);
  });
});
