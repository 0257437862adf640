/** Code loaded after first paint, once: the session code (LiveLoader) and the call mode's. */
export class LazyModule<T> {
  readonly #onFailure: () => void;
  readonly #importModule: () => Promise<T>;
  #loaded: T | null = null;
  #loading: Promise<T> | undefined;

  /**
   * `importModule` is the dynamic import; `onFailure` runs each time it fails (the page says
   * so and offers a reload), and the next caller tries again.
   */
  constructor(onFailure: () => void, importModule: () => Promise<T>) {
    this.#onFailure = onFailure;
    this.#importModule = importModule;
  }

  /** The module once its import has finished, else null. */
  get loaded(): T | null {
    return this.#loaded;
  }

  /**
   * Runs `use` with the module: at once when it has loaded, else once it has (never when the
   * import fails).
   */
  use(use: (module: T) => void): void {
    if (this.#loaded !== null) use(this.#loaded);
    else void this.load().then((module) => module !== null && use(module));
  }

  /** Starts (once) and awaits the import; null when it failed. */
  async load(): Promise<T | null> {
    this.#loading ??= this.#importModule().then((module) => (this.#loaded = module));
    try {
      return await this.#loading;
    } catch {
      this.#loading = undefined;
      this.#onFailure();
      return null;
    }
  }
}
