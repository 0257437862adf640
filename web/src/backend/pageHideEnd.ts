/*
 * Ending a brokered call when the page goes away. An `endRealtimeCall` through the Firebase
 * SDK would first fetch an App Check token and then post with a plain fetch, which the
 * browser cancels as the page unloads. So the request is made ready while the call runs (the
 * ID token and a limited-use App Check token fetched ahead) and sent on `pagehide` with
 * `fetch(…, { keepalive: true })`, which outlives the page, speaking the callable protocol
 * (`POST {"data": …}` as JSON, `Authorization: Bearer <ID token>`, `X-Firebase-AppCheck`).
 * Best effort: the end is also kept for the next page to send again (PendingEnds); a page that
 * never says goodbye is ended by the deadline task and charged its whole slice.
 */

/** The HTTPS URL of callable `name`, on the Functions emulator or in production. */
export function callableUrl(options: {
  projectId: string;
  region: string;
  name: string;
  emulator: { host: string; port: number } | null;
}): string {
  const { projectId, region, name, emulator } = options;
  return emulator
    ? `http://${emulator.host}:${emulator.port}/${projectId}/${region}/${name}`
    : `https://${region}-${projectId}.cloudfunctions.net/${name}`;
}

/** The part of `fetch` a keepalive beacon uses. */
export type BeaconFetch = (
  url: string,
  init: {
    method: "POST";
    keepalive: true;
    headers: Record<string, string>;
    body: string;
  },
) => Promise<unknown>;

/** Options of {@link PageHideEnd}. */
export interface PageHideEndOptions {
  /** The `endRealtimeCall` callable's URL ({@link callableUrl}). */
  url: string;
  /** The signed-in user's ID token. */
  idToken: () => Promise<string>;
  /** A limited-use App Check token (the function consumes it); null without App Check. */
  appCheckToken: () => Promise<string | null>;
  fetch?: BeaconFetch;
}

type Armed =
  | { status: "idle" }
  | { status: "preparing"; callId: string }
  | { status: "ready"; callId: string; headers: Record<string, string> };

/** Holds the end-call request of the open call, ready to be sent as the page goes away. */
export class PageHideEnd {
  readonly #options: PageHideEndOptions;
  readonly #fetch: BeaconFetch;
  #armed: Armed = { status: "idle" };

  constructor(options: PageHideEndOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  }

  /** What it holds: `idle`, `preparing` (tokens on their way) or `ready`. */
  get status(): Armed["status"] {
    return this.#armed.status;
  }

  /**
   * Prepares the request that ends `callId`. Resolves once it is ready (or could not be made
   * ready, then `fire` sends nothing); never rejects.
   */
  async arm(callId: string): Promise<void> {
    const armed: Armed = { status: "preparing", callId };
    this.#armed = armed;
    try {
      const [idToken, appCheck] = await Promise.all([
        this.#options.idToken(),
        this.#options.appCheckToken(),
      ]);
      // Disarmed or re-armed for another call meanwhile.
      if (this.#armed !== armed) return;
      const headers: Record<string, string> = {
        "Content-Type": "application/json",
        Authorization: `Bearer ${idToken}`,
      };
      if (appCheck) headers["X-Firebase-AppCheck"] = appCheck;
      this.#armed = { status: "ready", callId, headers };
    } catch {
      if (this.#armed === armed) this.#armed = { status: "idle" };
    }
  }

  /** Forgets the call (it ended some other way). Idempotent. */
  disarm(): void {
    this.#armed = { status: "idle" };
  }

  /**
   * Sends the end request once, if one is ready, with how long the call ran when the page
   * ended it (the server charges to then, within its bound); true when it was sent.
   */
  fire(endedAfterSeconds?: number): boolean {
    const armed = this.#armed;
    this.#armed = { status: "idle" };
    if (armed.status !== "ready") return false;
    void this.#fetch(this.#options.url, {
      method: "POST",
      keepalive: true,
      headers: armed.headers,
      body: JSON.stringify({
        data: {
          callId: armed.callId,
          ...(endedAfterSeconds === undefined ? {} : { endedAfterSeconds }),
        },
      }),
    }).catch(() => undefined);
    return true;
  }
}
