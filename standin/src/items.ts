/**
 * The conversation's items in order, and the truncation rule for assistant audio. Pure
 * bookkeeping: the conversation turns what happens here into events.
 */
import type { ConversationItem } from "openai/resources/realtime/realtime";

/** An item as the conversation keeps it, with what the events alone do not carry. */
export interface StoredItem {
  item: ConversationItem & { id: string };
  /** Assistant audio sent for this item so far: the bound for truncation. */
  audioMs: number;
  /** Set once a client truncated the item: audio sent afterwards no longer extends it. */
  truncated?: boolean;
  /** What a user's audio "said": the placeholder transcript, even when transcription is off. */
  spokenText?: string;
}

/** An item as `GET /_standin/state` reports it: what the conversation holds, as text. */
export interface ItemRecord {
  id: string;
  type: ConversationItem["type"];
  /** A message's role; `null` for function calls and their outputs. */
  role: "user" | "assistant" | "system" | null;
  /**
   * A message's text parts and transcripts joined by spaces (a user's audio: its placeholder
   * transcript); a function call's `name(arguments)`; an output's `output`.
   */
  text: string;
}

/** The text a stored item stands for (see {@link ItemRecord.text}). */
export function itemText(stored: StoredItem): string {
  if (stored.spokenText !== undefined) return stored.spokenText;
  const item = stored.item;
  switch (item.type) {
    case "message":
      return item.content
        .map(
          (part) =>
            ("text" in part && part.text) || ("transcript" in part && part.transcript) || "",
        )
        .filter(Boolean)
        .join(" ");
    case "function_call":
      return `${item.name}(${item.arguments})`;
    case "function_call_output":
      return item.output;
    default:
      return "";
  }
}

/** The record of a stored item. */
export function itemRecord(stored: StoredItem): ItemRecord {
  const item = stored.item;
  return {
    id: item.id,
    type: item.type,
    role: item.type === "message" ? item.role : null,
    text: itemText(stored),
  };
}

/** The default conversation's items, in conversation order. */
export class ItemStore {
  private readonly items: StoredItem[] = [];

  /** Every item in order: a response's context unless it brings its own `input`. */
  get all(): readonly StoredItem[] {
    return this.items;
  }

  find(id: string): StoredItem | undefined {
    return this.items.find((s) => s.item.id === id);
  }

  lastId(): string | null {
    return this.items.at(-1)?.item.id ?? null;
  }

  /** The `previous_item_id` events report for an item (`null` for the first, or a deleted one). */
  previousOf(id: string): string | null {
    const index = this.indexOf(id);
    return index > 0 ? (this.items[index - 1]?.item.id ?? null) : null;
  }

  /**
   * Where an item created with `previous_item_id` goes: `"root"` is the start, absent is the
   * end; `undefined` when no such item exists.
   */
  positionAfter(previousItemId: string | undefined): number | undefined {
    if (previousItemId === undefined) return this.items.length;
    if (previousItemId === "root") return 0;
    const index = this.indexOf(previousItemId);
    return index < 0 ? undefined : index + 1;
  }

  /** Inserts at a position from {@link positionAfter}; returns the id of the item before it. */
  insertAt(index: number, stored: StoredItem): string | null {
    const previous = index === 0 ? null : (this.items[index - 1]?.item.id ?? null);
    this.items.splice(index, 0, stored);
    return previous;
  }

  append(stored: StoredItem): void {
    this.items.push(stored);
  }

  /** False when there is no such item. */
  remove(id: string): boolean {
    const index = this.indexOf(id);
    if (index < 0) return false;
    this.items.splice(index, 1);
    return true;
  }

  private indexOf(id: string): number {
    return this.items.findIndex((s) => s.item.id === id);
  }
}

/**
 * Why upstream would refuse to truncate `stored` at `audioEndMs`, or `undefined` when it can
 * be. `streaming` says the item is the answer whose audio is still being sent: its content is
 * only filled in when it is done, but it already has audio.
 */
export function truncationProblem(
  stored: StoredItem,
  contentIndex: number,
  audioEndMs: number,
  streaming: boolean,
): { message: string; param: string } | undefined {
  const item = stored.item;
  const hasAudio =
    item.type === "message" &&
    item.role === "assistant" &&
    item.content.some((part) => part.type === "output_audio");
  if (!hasAudio && !streaming)
    return { message: "Only assistant messages with audio can be truncated.", param: "item_id" };
  if (contentIndex !== 0)
    return { message: `The item has no content at index ${contentIndex}.`, param: "content_index" };
  if (audioEndMs > stored.audioMs)
    return {
      message: `Audio content of ${stored.audioMs}ms is already shorter than ${audioEndMs}ms`,
      param: "audio_end_ms",
    };
  return undefined;
}

/** Cuts an item's audio at `audioEndMs` (checked with {@link truncationProblem}). */
export function truncateItem(stored: StoredItem, audioEndMs: number): void {
  stored.audioMs = audioEndMs;
  stored.truncated = true;
  const item = stored.item;
  // Upstream drops the text transcript of a truncated item so the model does not "remember" unheard words.
  if (item.type === "message" && item.role === "assistant")
    item.content = item.content.map((part) =>
      part.type === "output_audio" ? { ...part, transcript: "" } : part,
    );
}
