import type { RealtimeTokenResponse } from "../../../functions/src/contract";

/**
 * Secrets shared between the tabs (and reloads) of one user, so that a second tab or a
 * reload reuses the secret a first one minted instead of minting again inside the
 * server's per-user interval. Only the user who minted a secret ever reads it: entries are
 * scoped by uid.
 */
export interface SharedSecrets {
  read(scope: string, key: string): RealtimeTokenResponse | null;
  write(scope: string, key: string, response: RealtimeTokenResponse): void;
  /** Forgets the scope's entry for `key`, all of the scope's entries, or (null) everyone's. */
  remove(scope: string | null, key?: string): void;
  /**
   * Runs `work` while no other tab of this origin runs work under the same name, so two tabs
   * loading at once mint one secret between them, not two.
   */
  exclusive<T>(name: string, work: () => Promise<T>): Promise<T>;
}

const PREFIX = "realtime-secret:";

/**
 * {@link SharedSecrets} in `localStorage`, serialized across tabs with the Web Locks API
 * where the browser has it (without it, two tabs loading in the same instant may both mint).
 * A stored secret is what the page already holds in memory, readable by any script on the
 * origin for its short lifetime; entries are removed when rejected, on sign-out, and read
 * only while unexpired.
 */
export function browserSharedSecrets(
  storage: Storage | undefined = globalThis.localStorage,
  locks: LockManager | undefined = globalThis.navigator?.locks,
): SharedSecrets {
  const name = (scope: string, key: string) => `${PREFIX}${scope}:${key}`;
  const attempt = <T>(work: () => T, fallback: T): T => {
    try {
      return work();
    } catch {
      // Storage disabled or full: sharing is an optimization, never a failure.
      return fallback;
    }
  };
  return {
    read: (scope, key) =>
      attempt(() => {
        const raw = storage?.getItem(name(scope, key));
        return raw ? (JSON.parse(raw) as RealtimeTokenResponse) : null;
      }, null),
    write: (scope, key, response) =>
      attempt(() => storage?.setItem(name(scope, key), JSON.stringify(response)), undefined),
    remove: (scope, key) =>
      attempt(() => {
        if (!storage) return;
        if (scope !== null && key !== undefined) return storage.removeItem(name(scope, key));
        const prefix = scope === null ? PREFIX : `${PREFIX}${scope}:`;
        const all = Array.from({ length: storage.length }, (_, i) => storage.key(i));
        for (const item of all) if (item?.startsWith(prefix)) storage.removeItem(item);
      }, undefined),
    exclusive: <T>(lockName: string, work: () => Promise<T>) =>
      locks ? (locks.request(lockName, work) as Promise<T>) : work(),
  };
}
