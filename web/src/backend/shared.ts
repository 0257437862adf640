import {
  checkResponse,
  RealtimeTokenResponseSchema,
  type RealtimeTokenResponse,
} from "voice-contract";

/**
 * Secrets shared between the tabs (and reloads) of one user, so that a second tab or a
 * reload reuses the secret a first one minted instead of minting again inside the
 * server's per-user interval. Only the user who minted a secret ever reads it: entries are
 * scoped by uid.
 */
export interface SharedSecrets {
  read(scope: string, key: string): RealtimeTokenResponse | null;
  write(scope: string, key: string, response: RealtimeTokenResponse): void;
  /** Forgets the scope's entry for `key`; without arguments, everyone's entries. */
  remove(scope?: string, key?: string): void;
  /**
   * Runs `work` while no other tab of this origin runs work under the same name, so two tabs
   * loading at once mint one secret between them, not two.
   */
  exclusive<T>(name: string, work: () => Promise<T>): Promise<T>;
}

/** The one `localStorage` item: `{ [uid]: { [requestKey]: response } }`. */
const ITEM = "realtime-secrets";

type Stored = Record<string, Record<string, unknown> | undefined>;

/**
 * {@link SharedSecrets} in `localStorage`, serialized across tabs with the Web Locks API
 * where the browser has it (without it, two tabs loading in the same instant may both mint).
 * A stored secret is what the page already holds in memory, readable by any script on the
 * origin for its short lifetime; entries are removed when rejected and on a user change, and
 * read only while unexpired.
 */
export function browserSharedSecrets(
  storage: Storage | undefined = globalThis.localStorage,
  locks: LockManager | undefined = globalThis.navigator?.locks,
): SharedSecrets {
  // Storage disabled, full or garbled: sharing is an optimization, never a failure.
  const load = (): Stored => {
    try {
      return (JSON.parse(storage?.getItem(ITEM) ?? "{}") as Stored | null) ?? {};
    } catch {
      return {};
    }
  };
  const save = (stored: Stored) => {
    try {
      storage?.setItem(ITEM, JSON.stringify(stored));
    } catch {
      // See above.
    }
  };
  return {
    // Checked like a fresh answer: an entry of an older version, or garbled, is not a secret.
    read: (scope, key) => {
      const checked = checkResponse(RealtimeTokenResponseSchema, load()[scope]?.[key]);
      return checked.ok ? checked.value : null;
    },
    write: (scope, key, response) => {
      const stored = load();
      stored[scope] = { ...stored[scope], [key]: response };
      save(stored);
    },
    remove: (scope, key) => {
      if (scope === undefined || key === undefined) return save({});
      const stored = load();
      delete stored[scope]?.[key];
      save(stored);
    },
    exclusive: <T>(lockName: string, work: () => Promise<T>) =>
      locks ? (locks.request(lockName, work) as Promise<T>) : work(),
  };
}
