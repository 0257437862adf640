/*
 * End requests the server has not answered yet. A brokered call the page ended is charged
 * until the server hears of it (up to its whole slice, at its deadline), so an end request
 * that failed is kept in `localStorage` (it survives the page, a reload, the next visit) and
 * sent again with backoff until the server answers or the call's deadline passes. Each request
 * carries the claim measured when the page ended the call (`endedAfterSeconds`), so a late
 * answer refunds what an immediate one would have, within the server's bound.
 */
import type { EndRealtimeCallRequest } from "voice-contract";
import { isRecord } from "voice-contract";
import { readCallableError } from "./errors";

/** One end request kept until the server answers it. */
export interface PendingEnd {
  /** Whose call: only that user's page can end it. */
  uid: string;
  callId: string;
  /** The claim, fixed when the page ended the call. */
  endedAfterSeconds: number;
  /** When to stop trying (epoch ms, this machine's clock): the server ends the call then. */
  untilMs: number;
}

/** The part of `Storage` kept ends need. */
export type EndStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/** Options of {@link PendingEnds}. */
export interface PendingEndsOptions {
  /** Sends one `endRealtimeCall`; resolves with its answer, rejects with the callable's error. */
  send: (request: EndRealtimeCallRequest) => Promise<unknown>;
  /** Where ends wait across reloads; null keeps them in this page only. */
  storage: EndStorage | null;
  /** Wall-clock time (epoch ms), for {@link PendingEnd.untilMs}. */
  now: () => number;
  /** Runs `work` after `ms`; returns what cancels it. Default: `setTimeout`. */
  schedule?: (work: () => void, ms: number) => () => void;
  /** A retried end (not the first try) was answered: its minutes are the server's latest. */
  onAnswered?: (end: PendingEnd, answer: unknown) => void;
}

/** The `localStorage` item: a list of {@link PendingEnd}. */
export const PENDING_ENDS_ITEM = "realtime-pending-ends";

/** Waits between tries: 1, 2, 4, then 8 s. */
export function retryDelayMs(tries: number): number {
  return Math.min(8_000, 1_000 * 2 ** Math.max(0, tries - 1));
}

/**
 * Answers that retrying cannot change: the call is not this user's or not known (`not-found`),
 * the request was refused as malformed, or the backend does not serve brokered calls.
 */
const FINAL_CODES = new Set(["not-found", "invalid-argument", "failed-precondition"]);

interface Tracked {
  end: PendingEnd;
  tries: number;
  cancel: (() => void) | null;
}

/** The page's unanswered end requests: kept, and retried until answered or too late. */
export class PendingEnds {
  readonly #o: PendingEndsOptions;
  readonly #schedule: (work: () => void, ms: number) => () => void;
  readonly #tracked = new Map<string, Tracked>();
  #disposed = false;

  constructor(options: PendingEndsOptions) {
    this.#o = options;
    this.#schedule =
      options.schedule ??
      ((work, ms) => {
        const timer = setTimeout(work, ms);
        return () => clearTimeout(timer);
      });
  }

  /**
   * Keeps `end` and sends it. Resolves with the first try's answer, or null when it failed
   * (it is then retried in the background, and {@link PendingEndsOptions.onAnswered} gets the
   * answer); never rejects.
   */
  submit(end: PendingEnd): Promise<unknown> {
    this.#write((ends) => [...ends.filter((e) => e.callId !== end.callId), end]);
    this.#tracked.get(end.callId)?.cancel?.();
    const tracked: Tracked = { end, tries: 0, cancel: null };
    this.#tracked.set(end.callId, tracked);
    return this.#try(tracked, false);
  }

  /**
   * Keeps `end` without sending it: the page is going away (its keepalive request carries it);
   * the next page of this user sends it again ({@link resume}) in case that never arrived.
   */
  keep(end: PendingEnd): void {
    this.#write((ends) => [...ends.filter((e) => e.callId !== end.callId), end]);
  }

  /**
   * Retries the kept ends of `uid` that this page is not already retrying (those of an earlier
   * page, a reload, another tab); forgets every kept end that is past its time.
   */
  resume(uid: string): void {
    const now = this.#o.now();
    const kept = this.#write((ends) => ends.filter((e) => e.untilMs > now));
    for (const end of kept) {
      if (end.uid !== uid || this.#tracked.has(end.callId)) continue;
      const tracked: Tracked = { end, tries: 0, cancel: null };
      this.#tracked.set(end.callId, tracked);
      void this.#try(tracked, true);
    }
  }

  /** The ends kept now (for tests and the page's diagnostics). */
  get kept(): PendingEnd[] {
    return this.#read();
  }

  /** Stops retrying in this page; kept ends stay for the next one. Idempotent. */
  dispose(): void {
    this.#disposed = true;
    for (const tracked of this.#tracked.values()) tracked.cancel?.();
    this.#tracked.clear();
  }

  async #try(tracked: Tracked, retry: boolean): Promise<unknown> {
    const { end } = tracked;
    tracked.cancel = null;
    tracked.tries++;
    let answer: unknown;
    try {
      answer = await this.#o.send({
        callId: end.callId,
        endedAfterSeconds: end.endedAfterSeconds,
      });
    } catch (error) {
      if (this.#tracked.get(end.callId) !== tracked) return null;
      const final = FINAL_CODES.has(readCallableError(error).code);
      const delay = retryDelayMs(tracked.tries);
      if (final || this.#o.now() + delay >= end.untilMs) this.#forget(tracked);
      else if (!this.#disposed)
        tracked.cancel = this.#schedule(() => void this.#try(tracked, true), delay);
      return null;
    }
    this.#forget(tracked);
    if (retry) this.#o.onAnswered?.(end, answer);
    return answer;
  }

  #forget({ end }: Tracked): void {
    if (this.#tracked.get(end.callId)?.end === end) this.#tracked.delete(end.callId);
    this.#write((ends) => ends.filter((e) => e.callId !== end.callId));
  }

  /** Kept ends, read defensively: storage off, full or garbled keeps nothing. */
  #read(): PendingEnd[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.#o.storage?.getItem(PENDING_ENDS_ITEM) ?? "[]");
    } catch {
      return [];
    }
    return Array.isArray(parsed) ? parsed.filter(isPendingEnd) : [];
  }

  /** Rewrites the kept ends from what is stored now (another tab may have changed them). */
  #write(change: (ends: PendingEnd[]) => PendingEnd[]): PendingEnd[] {
    const ends = change(this.#read());
    try {
      if (ends.length === 0) this.#o.storage?.removeItem(PENDING_ENDS_ITEM);
      else this.#o.storage?.setItem(PENDING_ENDS_ITEM, JSON.stringify(ends));
    } catch {
      // Storage off or full: the end is still tried from this page.
    }
    return ends;
  }
}

function isPendingEnd(value: unknown): value is PendingEnd {
  return (
    isRecord(value) &&
    typeof value.uid === "string" &&
    typeof value.callId === "string" &&
    typeof value.endedAfterSeconds === "number" &&
    Number.isInteger(value.endedAfterSeconds) &&
    value.endedAfterSeconds >= 0 &&
    typeof value.untilMs === "number" &&
    Number.isFinite(value.untilMs)
  );
}
