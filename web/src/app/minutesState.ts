/*
 * The signed-in user's voice minutes as the page knows them: the newest figure the server has
 * answered with, in this tab or in another tab of the same user (shared over a
 * MinutesChannel), and whether it lets a call start. Every figure carries the server's read
 * time (`readAtMs`), so answers that arrive out of order, or from another tab, never replace a
 * newer one. Loaded with brokered mode only.
 */
import { checkResponse, isRecord, VoiceMinutesSchema, type VoiceMinutes } from "voice-contract";
import { connectBlock, type MinutesBlock, type MinutesFigure } from "../ui/minutes";

/**
 * Whether `candidate` is newer than `current`: read later by the server. Two figures read in
 * the same millisecond (two instances at once) are ordered by what they leave, the smaller
 * first, so that every tab settles on the same one and none shows minutes that may be gone.
 */
export function isNewerFigure(candidate: VoiceMinutes, current: VoiceMinutes | null): boolean {
  if (current === null) return true;
  if (candidate.readAtMs !== current.readAtMs) return candidate.readAtMs > current.readAtMs;
  if (candidate.daySeconds !== current.daySeconds) return candidate.daySeconds < current.daySeconds;
  // No monthly cap (null) leaves more than any number.
  const month = (m: VoiceMinutes) => m.monthSeconds ?? Infinity;
  return month(candidate) < month(current);
}

/** What one tab tells the others: a figure of `uid`'s, with when it reached the page. */
export interface MinutesMessage {
  uid: string;
  minutes: VoiceMinutes;
  /** The page's clock (tabs of one browser share it). */
  receivedAtMs: number;
}

/** How the tabs of one user share figures; tests pass a fake hub. */
export interface MinutesChannel {
  /** Tells the other tabs (not this one). */
  post(message: MinutesMessage): void;
  /** `listener` hears what other tabs post, unchecked. */
  onMessage(listener: (message: unknown) => void): void;
  /** Stops listening (idempotent). */
  close(): void;
}

/** The storage key and BroadcastChannel name of `uid`'s figures. */
export function minutesChannelName(uid: string): string {
  return `voice-minutes:${uid}`;
}

/**
 * `uid`'s channel in this browser: a BroadcastChannel, or where there is none, localStorage
 * and its `storage` event (which fires in the other tabs of the origin); nothing shared where
 * neither is available.
 */
export function openMinutesChannel(uid: string): MinutesChannel {
  const name = minutesChannelName(uid);
  if (typeof BroadcastChannel === "function") {
    const channel = new BroadcastChannel(name);
    return {
      post: (message) => channel.postMessage(message),
      onMessage: (listener) => channel.addEventListener("message", (e) => listener(e.data)),
      close: () => channel.close(),
    };
  }
  let storage: Storage | null = null;
  try {
    storage = typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    // Storage denied (a privacy setting): figures stay in this tab.
  }
  if (storage === null || typeof addEventListener !== "function") {
    return { post: () => {}, onMessage: () => {}, close: () => {} };
  }
  const listeners: Array<(event: StorageEvent) => void> = [];
  return {
    post(message) {
      try {
        storage.setItem(name, JSON.stringify(message));
      } catch {
        // Storage full or denied: this tab still shows the figure.
      }
    },
    onMessage(listener) {
      const onStorage = (event: StorageEvent) => {
        if (event.key !== name || event.newValue === null) return;
        try {
          listener(JSON.parse(event.newValue));
        } catch {
          // Not ours to read.
        }
      };
      listeners.push(onStorage);
      addEventListener("storage", onStorage);
    },
    close() {
      for (const listener of listeners.splice(0)) removeEventListener("storage", listener);
    },
  };
}

/** Runs `work` after `ms`; the returned function cancels it. */
export type Timer = (work: () => void, ms: number) => () => void;

const realTimer: Timer = (work, ms) => {
  const id = setTimeout(work, ms);
  return () => clearTimeout(id);
};

/**
 * How often a blocked Connect's "They come back in …" is brought up to date: often enough for
 * a wait under a minute, which counts seconds.
 */
export const BLOCK_TICK_MS = 1_000;

/** What {@link MinutesState} reports to and asks of the page. */
export interface MinutesStateOptions {
  now: () => number;
  /** Opens the channel the tabs of `uid` share. Default: {@link openMinutesChannel}. */
  channel?: (uid: string) => MinutesChannel;
  timer?: Timer;
  /** The figure to show changed (null: none known for the signed-in user). */
  onFigure: (figure: MinutesFigure | null) => void;
  /** Whether Connect is off, and why, changed. */
  onBlock: (block: MinutesBlock | null) => void;
  /** A spent budget's reset has passed: the server should be asked for the figures again. */
  refresh: () => void;
}

/** The newest figure of the signed-in user's minutes, shared between that user's tabs. */
export class MinutesState {
  readonly #o: MinutesStateOptions;
  readonly #openChannel: (uid: string) => MinutesChannel;
  readonly #timer: Timer;
  #uid: string | null = null;
  #channel: MinutesChannel | null = null;
  #figure: MinutesFigure | null = null;
  #block: MinutesBlock | null = null;
  #cancelTick: (() => void) | null = null;

  constructor(options: MinutesStateOptions) {
    this.#o = options;
    this.#openChannel = options.channel ?? openMinutesChannel;
    this.#timer = options.timer ?? realTimer;
  }

  /** The newest figure known for the signed-in user, or null. */
  get figure(): MinutesFigure | null {
    return this.#figure;
  }

  /** The signed-in user's uid, or null; a change forgets the last user's figure. */
  get uid(): string | null {
    return this.#uid;
  }

  /**
   * The signed-in user is `uid` (null: nobody): listens to that user's tabs. A different user
   * than before starts with no figure and nothing blocked.
   */
  user(uid: string | null): void {
    if (uid === this.#uid) return;
    this.#channel?.close();
    this.#channel = null;
    this.#uid = uid;
    if (this.#figure !== null || this.#block !== null) this.#set(null);
    if (uid === null) return;
    const channel = this.#openChannel(uid);
    this.#channel = channel;
    channel.onMessage((message) => {
      if (this.#channel !== channel) return;
      const shared = readMessage(message, uid);
      if (shared) this.#adopt(shared);
    });
  }

  /**
   * A server answer for `uid` (the user signed in when it was asked for): kept and shared
   * with the other tabs when it is newer than what the page has. False when it was not kept
   * (older, or another user's).
   */
  offer(uid: string, minutes: VoiceMinutes): boolean {
    if (uid !== this.#uid) return false;
    const figure = { minutes, receivedAtMs: this.#o.now() };
    if (!this.#adopt(figure)) return false;
    this.#channel?.post({ uid, ...figure });
    return true;
  }

  /** Stops listening and ticking (idempotent). */
  dispose(): void {
    this.#channel?.close();
    this.#channel = null;
    this.#stopTick();
  }

  #adopt(figure: MinutesFigure): boolean {
    if (!isNewerFigure(figure.minutes, this.#figure?.minutes ?? null)) return false;
    this.#set(figure);
    return true;
  }

  #set(figure: MinutesFigure | null): void {
    this.#figure = figure;
    this.#o.onFigure(figure);
    this.#judge(false);
  }

  /**
   * Whether Connect is off now; told only when that or its sentence changes. A block whose
   * reset passed on a tick asks for fresh figures: the server decides what is back.
   */
  #judge(ticked: boolean): void {
    const before = this.#block;
    const block = connectBlock(this.#figure, this.#o.now());
    this.#block = block;
    if (block?.message !== before?.message || block?.reason !== before?.reason) {
      this.#o.onBlock(block);
    }
    this.#stopTick();
    if (block !== null) {
      const wait = Math.min(BLOCK_TICK_MS, Math.max(0, block.backAtMs - this.#o.now()));
      this.#cancelTick = this.#timer(() => this.#judge(true), wait);
    } else if (ticked && before !== null) {
      this.#o.refresh();
    }
  }

  #stopTick(): void {
    this.#cancelTick?.();
    this.#cancelTick = null;
  }
}

/** Another tab's message for `uid`, checked; null when it is not one. */
function readMessage(message: unknown, uid: string): MinutesFigure | null {
  if (!isRecord(message) || message.uid !== uid) return null;
  const { receivedAtMs } = message;
  if (typeof receivedAtMs !== "number" || !Number.isFinite(receivedAtMs)) return null;
  const minutes = checkResponse(VoiceMinutesSchema, message.minutes);
  return minutes.ok ? { minutes: minutes.value, receivedAtMs } : null;
}
