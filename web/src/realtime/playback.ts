/** The assistant audio the user is hearing now. */
export interface Playback {
  responseId: string;
  /** The item to truncate; null until `response.output_item.added` names it. */
  itemId: string | null;
  /** When `output_audio_buffer.started` arrived, on the session's clock. */
  startedAt: number;
}

/**
 * What `interrupt()` needs to know, kept apart because two things that look alike are not:
 * a response can be in flight before its audio starts, and its audio keeps playing after
 * the response is done. Only the first may be cancelled; only the second may be truncated.
 */
export class ResponseTracker {
  readonly #active = new Set<string>();
  /** The first assistant message of each response: the one its audio belongs to. */
  readonly #itemByResponse = new Map<string, string>();
  #playback: Playback | null = null;

  /** Whether a response is being generated (`response.cancel` applies). */
  get inFlight(): boolean {
    return this.#active.size > 0;
  }

  /** The audio playing now, or null once the output buffer stopped or was cleared. */
  get playback(): Readonly<Playback> | null {
    return this.#playback;
  }

  responseCreated(responseId: string): void {
    this.#active.add(responseId);
  }

  /** An assistant message was added to a response; audio that started first learns its id. */
  messageAdded(responseId: string, itemId: string): void {
    if (this.#itemByResponse.has(responseId)) return;
    this.#itemByResponse.set(responseId, itemId);
    if (this.#playback?.responseId === responseId && !this.#playback.itemId) {
      this.#playback.itemId = itemId;
    }
  }

  audioStarted(responseId: string, now: number): void {
    this.#playback = {
      responseId,
      itemId: this.#itemByResponse.get(responseId) ?? null,
      startedAt: now,
    };
  }

  audioEnded(): void {
    this.#playback = null;
  }

  /** The response is done generating; its audio may still be playing. */
  responseDone(responseId: string): void {
    this.#active.delete(responseId);
    this.#itemByResponse.delete(responseId);
  }

  /** Forgets everything (the session closed). */
  clear(): void {
    this.#playback = null;
    this.#active.clear();
    this.#itemByResponse.clear();
  }
}

/**
 * The `audio_end_ms` for `conversation.item.truncate`: whole milliseconds since the audio
 * started. Rounding down keeps it at or below what played, so the model never remembers
 * saying words the user did not hear.
 */
export function playedMs(playback: Readonly<Playback>, now: number): number {
  return Math.max(0, Math.floor(now - playback.startedAt));
}
