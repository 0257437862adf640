/**
 * The conversation so far, as the `conversation.item.create` events that replay it into a
 * new call after a reconnect. Pure.
 *
 * Only text survives: user turns (spoken ones as their transcript) become `input_text`,
 * assistant turns `output_text` (the GA content type for assistant messages; `text` is
 * rejected), finished tool calls a `function_call` and its `function_call_output`. The audio
 * itself — tone, hesitation, what was said but not transcribed — is lost, and a spoken turn
 * whose transcript never arrived is skipped.
 */
import type {
  ConversationItem,
  ConversationItemCreateEvent,
} from "openai/resources/realtime/realtime";
import type { ConversationEntry } from "./types";

/** How much history to replay. */
export interface RestoreBudget {
  /** Characters of text, arguments and output over all replayed entries. */
  maxChars: number;
}

/** About 4,000 tokens of text: enough for the thread of a conversation, cheap to resend. */
export const DEFAULT_RESTORE_BUDGET: Readonly<RestoreBudget> = { maxChars: 16_000 };

/** The replay, and how many entries did not fit or had nothing to replay. */
export interface RestorePlan {
  events: ConversationItemCreateEvent[];
  /** Entries left out because the budget ran out (the oldest ones). */
  dropped: number;
}

/**
 * Builds the replay of `entries` (oldest first), newest entries first into the budget: when
 * it runs out, everything older is dropped, so the replay is always a recent, gap-free
 * stretch of the conversation. A tool call and its output go together or not at all.
 */
export function restoreContext(
  entries: readonly ConversationEntry[],
  budget: Readonly<RestoreBudget> = DEFAULT_RESTORE_BUDGET,
): RestorePlan {
  const replayable = entries
    .map((entry) => ({ entry, items: itemsOf(entry) }))
    .filter((candidate) => candidate.items.length > 0);
  const kept: ConversationItem[][] = [];
  let used = 0;
  let index = replayable.length - 1;
  for (; index >= 0; index--) {
    const candidate = replayable[index];
    if (!candidate) break;
    const size = sizeOf(candidate.entry);
    if (used + size > budget.maxChars) break;
    used += size;
    kept.push(candidate.items);
  }
  return {
    events: kept
      .reverse()
      .flat()
      .map((item) => ({ type: "conversation.item.create", item })),
    dropped: index + 1,
  };
}

function itemsOf(entry: ConversationEntry): ConversationItem[] {
  switch (entry.kind) {
    case "user":
      if (entry.text.trim() === "") return [];
      return [
        { type: "message", role: "user", content: [{ type: "input_text", text: entry.text }] },
      ];
    case "assistant":
      if (entry.text.trim() === "") return [];
      return [
        {
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text: entry.text }],
        },
      ];
    case "tool":
      // A call still running has no output to replay, and a call without its output would
      // leave the model waiting for one.
      if (entry.output === undefined) return [];
      return [
        { type: "function_call", call_id: entry.id, name: entry.name, arguments: entry.arguments },
        { type: "function_call_output", call_id: entry.id, output: entry.output },
      ];
  }
}

function sizeOf(entry: ConversationEntry): number {
  return entry.kind === "tool"
    ? entry.name.length + entry.arguments.length + (entry.output?.length ?? 0)
    : entry.text.length;
}
