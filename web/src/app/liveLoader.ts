import type * as Live from "./live";

/** The lazily loaded session code (`live.ts`). */
export type LiveModule = typeof Live;

/** Loads the session code once; a failed import is tried again by the next caller. */
export class LiveLoader {
  readonly #onFailure: () => void;
  readonly #importLive: () => Promise<LiveModule>;
  #loaded: LiveModule | null = null;
  #loading: Promise<LiveModule> | undefined;

  /** `onFailure` runs each time the import fails (the page says so and offers a reload). */
  constructor(
    onFailure: () => void,
    importLive: () => Promise<LiveModule> = () => import("./live"),
  ) {
    this.#onFailure = onFailure;
    this.#importLive = importLive;
  }

  /** The module once its import has finished, else null. */
  get loaded(): LiveModule | null {
    return this.#loaded;
  }

  /** Starts (once) and awaits the import; null when it failed. */
  async load(): Promise<LiveModule | null> {
    this.#loading ??= this.#importLive().then((live) => (this.#loaded = live));
    try {
      return await this.#loading;
    } catch {
      this.#loading = undefined;
      this.#onFailure();
      return null;
    }
  }
}
