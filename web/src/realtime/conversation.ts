import { isRecord } from "./errors";
import type { ConversationEntry, UsageTotals } from "./types";

/**
 * The conversation as a user would read it, built from server events that may arrive in
 * any order: a transcript delta can precede the item it belongs to, so every writer
 * creates the entry it does not find.
 */
export class ConversationLog {
  readonly #onChange: (entries: readonly ConversationEntry[]) => void;
  #entries: ConversationEntry[] = [];
  /** Typed messages not yet echoed by the server, oldest first. */
  #pendingTextIds: string[] = [];
  #localIds = 0;

  /** `onChange` gets a fresh copy of the log after every change. */
  constructor(onChange: (entries: readonly ConversationEntry[]) => void) {
    this.#onChange = onChange;
  }

  /** A copy of the log, oldest first. */
  get entries(): readonly ConversationEntry[] {
    return [...this.#entries];
  }

  /**
   * Logs a typed message under a local id until the server's copy arrives
   * ({@link ConversationLog.adoptTextId}): the server assigns the item id.
   */
  addTyped(text: string): void {
    const id = `local_${++this.#localIds}`;
    this.#pendingTextIds.push(id);
    this.#put({ kind: "user", id, source: "text", text, status: "sending" });
  }

  /** The server echoed the oldest typed message: it arrived, and later events use its id. */
  adoptTextId(serverId: string): void {
    const localId = this.#pendingTextIds.shift();
    if (localId) {
      this.#update(localId, (entry) =>
        entry.kind === "user" ? { ...entry, id: serverId, status: "done" } : entry,
      );
    }
  }

  /** The session ended: typed messages the server never acknowledged were not delivered. */
  failUnsent(): void {
    for (const id of this.#pendingTextIds.splice(0)) {
      this.#update(id, (entry) =>
        entry.kind === "user" ? { ...entry, status: "not-delivered" } : entry,
      );
    }
  }

  /** A spoken user turn began, before any transcript. */
  startVoice(id: string): void {
    if (!this.#find(id)) {
      this.#put({ kind: "user", id, source: "voice", text: "", status: "in_progress" });
    }
  }

  appendUserTranscript(id: string, delta: string): void {
    const entry = this.#find(id);
    if (entry?.kind === "user") {
      this.#update(id, () => ({ ...entry, text: entry.text + delta }));
    } else if (!entry) {
      this.#put({ kind: "user", id, source: "voice", text: delta, status: "in_progress" });
    }
  }

  /** Settles a user transcript; `null` keeps the text streamed so far. */
  finishUserTranscript(id: string, transcript: string | null, status: "done" | "failed"): void {
    const entry = this.#find(id);
    if (entry && entry.kind !== "user") return;
    const text = transcript ?? entry?.text ?? "";
    this.#put({ kind: "user", id, source: "voice", text, status });
  }

  /** An assistant turn began, before any transcript. */
  startAssistant(id: string): void {
    if (!this.#find(id)) {
      this.#put({ kind: "assistant", id, text: "", status: "in_progress" });
    }
  }

  appendAssistant(id: string, delta: string): void {
    const entry = this.#find(id);
    if (entry?.kind === "assistant") {
      this.#update(id, () => ({ ...entry, text: entry.text + delta }));
    } else if (!entry) {
      this.#put({ kind: "assistant", id, text: delta, status: "in_progress" });
    }
  }

  /** The full text of an assistant turn; a turn already cut off stays `interrupted`. */
  finishAssistant(id: string, text: string): void {
    const entry = this.#find(id);
    if (entry && entry.kind !== "assistant") return;
    const status = entry?.status === "interrupted" ? "interrupted" : "done";
    this.#put({ kind: "assistant", id, text, status });
  }

  markInterrupted(id: string): void {
    this.#update(id, (entry) =>
      entry.kind === "assistant" ? { ...entry, status: "interrupted" } : entry,
    );
  }

  /** Closes an assistant turn whose transcript never finished (cancelled, cut off). */
  settleAssistant(id: string, status: "done" | "interrupted"): void {
    this.#update(id, (entry) =>
      entry.kind === "assistant" && entry.status === "in_progress" ? { ...entry, status } : entry,
    );
  }

  /** A tool call started running. */
  startTool(callId: string, name: string, args: string): void {
    this.#put({ kind: "tool", id: callId, name, arguments: args, status: "running" });
  }

  /** A tool call finished; `output` is what went back to the model. */
  finishTool(callId: string, ok: boolean, output: string): void {
    this.#update(callId, (entry) =>
      entry.kind === "tool" ? { ...entry, status: ok ? "done" : "error", output } : entry,
    );
  }

  /** Adds the entry, or replaces the one with its id. */
  #put(entry: ConversationEntry): void {
    const index = this.#entries.findIndex((existing) => existing.id === entry.id);
    if (index === -1) this.#entries.push(entry);
    else this.#entries[index] = entry;
    this.#onChange(this.entries);
  }

  /** Replaces an entry with `update(entry)`; nothing is reported when it returns the same. */
  #update(id: string, update: (entry: ConversationEntry) => ConversationEntry): void {
    const index = this.#entries.findIndex((entry) => entry.id === id);
    const current = this.#entries[index];
    if (!current) return;
    const next = update(current);
    if (next === current) return;
    this.#entries[index] = next;
    this.#onChange(this.entries);
  }

  #find(id: string): ConversationEntry | undefined {
    return this.#entries.find((entry) => entry.id === id);
  }
}

/** Totals before the first response. */
export const EMPTY_USAGE: UsageTotals = {
  responses: 0,
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  inputTextTokens: 0,
  inputAudioTokens: 0,
  cachedInputTokens: 0,
  outputTextTokens: 0,
  outputAudioTokens: 0,
};

/**
 * Adds one `response.done`'s `usage` to the totals; null when it carried none (a response
 * without usage is not counted). Fields are read defensively: the server may omit any.
 */
export function addUsage(totals: UsageTotals, usage: unknown): UsageTotals | null {
  if (!isRecord(usage)) return null;
  const input = isRecord(usage.input_token_details) ? usage.input_token_details : {};
  const output = isRecord(usage.output_token_details) ? usage.output_token_details : {};
  return {
    responses: totals.responses + 1,
    inputTokens: totals.inputTokens + count(usage.input_tokens),
    outputTokens: totals.outputTokens + count(usage.output_tokens),
    totalTokens: totals.totalTokens + count(usage.total_tokens),
    inputTextTokens: totals.inputTextTokens + count(input.text_tokens),
    inputAudioTokens: totals.inputAudioTokens + count(input.audio_tokens),
    cachedInputTokens: totals.cachedInputTokens + count(input.cached_tokens),
    outputTextTokens: totals.outputTextTokens + count(output.text_tokens),
    outputAudioTokens: totals.outputAudioTokens + count(output.audio_tokens),
  };
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}
