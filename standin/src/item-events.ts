/**
 * The conversation's items as the client sees them: the `conversation.item.*` verbs and the
 * commit of user audio, each answered with upstream's events or errors. The bookkeeping
 * underneath is `items.ts`; this module only decides what to refuse and what to send.
 */
import type {
  ConversationItem,
  ConversationItemAdded,
  ConversationItemDeletedEvent,
  ConversationItemDone,
  ConversationItemInputAudioTranscriptionCompletedEvent,
  ConversationItemTruncatedEvent,
  InputAudioBufferCommittedEvent,
  RealtimeConversationItemUserMessage,
  RealtimeServerEvent,
} from "openai/resources/realtime/realtime";
import { invalidRequest, send, sendError, type Effect } from "./effects.js";
import type { NewId } from "./ids.js";
import {
  ItemStore,
  itemRecord,
  truncateItem,
  truncationProblem,
  type ItemRecord,
  type StoredItem,
} from "./items.js";

/**
 * A user audio part before its transcription: upstream sends `transcript: null` (and keeps it
 * so when transcription is off). The `openai` types say `transcript?: string`, but OpenAI's
 * own Agents SDK requires the key and rejects an item without it.
 */
const PENDING_TRANSCRIPT = {
  type: "input_audio",
  transcript: null,
} as unknown as RealtimeConversationItemUserMessage.Content;

/** One call's default conversation, answered item by item. */
export class ItemEvents {
  /** The items themselves: a response's context and where its output goes. */
  readonly store = new ItemStore();

  constructor(private readonly newId: NewId) {}

  /** The conversation's items in order, as text (the state endpoint's record). */
  get records(): ItemRecord[] {
    return this.store.all.map(itemRecord);
  }

  /** `conversation.item.create`, placed after `previousItemId` (see {@link ItemStore.positionAfter}). */
  create(
    item: ConversationItem,
    previousItemId: string | undefined,
    clientEventId: string | null,
  ): Effect[] {
    const requestedId = "id" in item && typeof item.id === "string" ? item.id : undefined;
    if (requestedId !== undefined && this.store.find(requestedId))
      return [
        this.error(
          "invalid_value",
          `Item with id '${requestedId}' already exists.`,
          "item.id",
          clientEventId,
        ),
      ];
    const index = this.store.positionAfter(previousItemId);
    if (index === undefined)
      return [
        this.error(
          "invalid_value",
          `The previous_item_id '${previousItemId}' does not exist.`,
          "previous_item_id",
          clientEventId,
        ),
      ];
    const stored: StoredItem = {
      item: {
        ...item,
        id: requestedId ?? this.newId("item"),
        object: "realtime.item",
        status: "completed",
      } as StoredItem["item"],
      audioMs: 0,
    };
    const previous = this.store.insertAt(index, stored);
    return this.addedAndDone(stored.item, previous);
  }

  /** `conversation.item.retrieve`. */
  retrieve(itemId: string, clientEventId: string | null): Effect[] {
    const stored = this.store.find(itemId);
    if (!stored) return [this.notFound("retrieve", itemId, clientEventId)];
    return [
      send({
        type: "conversation.item.retrieved",
        event_id: this.eventId(),
        item: stored.item,
      } satisfies RealtimeServerEvent.ConversationItemRetrieved),
    ];
  }

  /** `conversation.item.delete`. */
  delete(itemId: string, clientEventId: string | null): Effect[] {
    if (!this.store.remove(itemId)) return [this.notFound("delete", itemId, clientEventId)];
    return [
      send({
        type: "conversation.item.deleted",
        event_id: this.eventId(),
        item_id: itemId,
      } satisfies ConversationItemDeletedEvent),
    ];
  }

  /**
   * `conversation.item.truncate`. `streaming` is the item whose audio is being sent, if any:
   * it has audio before its content says so.
   */
  truncate(
    request: { itemId: string; contentIndex: number; audioEndMs: number },
    streaming: StoredItem | undefined,
    clientEventId: string | null,
  ): Effect[] {
    const { itemId, contentIndex, audioEndMs } = request;
    const stored = this.store.find(itemId);
    if (!stored) return [this.notFound("truncate", itemId, clientEventId)];
    const problem = truncationProblem(stored, contentIndex, audioEndMs, streaming === stored);
    if (problem)
      return [this.error("invalid_value", problem.message, problem.param, clientEventId)];
    truncateItem(stored, audioEndMs);
    return [
      send({
        type: "conversation.item.truncated",
        event_id: this.eventId(),
        item_id: itemId,
        content_index: contentIndex,
        audio_end_ms: audioEndMs,
      } satisfies ConversationItemTruncatedEvent),
    ];
  }

  /**
   * Committed user audio becomes a user item (`what` names it in the placeholder transcript);
   * with `transcribe`, its transcription follows.
   */
  commitUserAudio(
    itemId: string,
    ms: number,
    what: "speech" | "audio",
    transcribe: boolean,
  ): Effect[] {
    const previous = this.store.lastId();
    const spokenText = `Placeholder transcript: ${ms} ms of ${what}.`;
    const item: RealtimeConversationItemUserMessage & { id: string } = {
      id: itemId,
      object: "realtime.item",
      type: "message",
      role: "user",
      status: "completed",
      content: [PENDING_TRANSCRIPT],
    };
    const stored: StoredItem = { item, audioMs: 0, spokenText };
    this.store.append(stored);
    const out: Effect[] = [
      send({
        type: "input_audio_buffer.committed",
        event_id: this.eventId(),
        item_id: itemId,
        previous_item_id: previous,
      } satisfies InputAudioBufferCommittedEvent),
      ...this.addedAndDone(stored.item, previous),
    ];
    if (transcribe) {
      item.content = [{ type: "input_audio", transcript: spokenText }];
      out.push(
        send({
          type: "conversation.item.input_audio_transcription.completed",
          event_id: this.eventId(),
          item_id: itemId,
          content_index: 0,
          transcript: spokenText,
          usage: { type: "duration", seconds: ms / 1000 },
        } satisfies ConversationItemInputAudioTranscriptionCompletedEvent),
      );
    }
    return out;
  }

  private addedAndDone(item: ConversationItem, previous: string | null): Effect[] {
    return [
      send({
        type: "conversation.item.added",
        event_id: this.eventId(),
        previous_item_id: previous,
        item,
      } satisfies ConversationItemAdded),
      send({
        type: "conversation.item.done",
        event_id: this.eventId(),
        previous_item_id: previous,
        item,
      } satisfies ConversationItemDone),
    ];
  }

  private notFound(
    action: "retrieve" | "delete" | "truncate",
    id: string,
    clientEventId: string | null,
  ): Effect {
    const doing = { retrieve: "retrieving", delete: "deleting", truncate: "truncating" }[action];
    return this.error(
      `item_${action}_invalid_item_id`,
      `Error ${doing} item: the item with id '${id}' does not exist.`,
      "item_id",
      clientEventId,
    );
  }

  private error(
    code: string,
    message: string,
    param: string,
    clientEventId: string | null,
  ): Effect {
    return sendError(this.newId, invalidRequest(code, message, param, clientEventId));
  }

  private eventId(): string {
    return this.newId("event");
  }
}
