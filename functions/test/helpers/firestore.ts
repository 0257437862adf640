/**
 * The Firestore stand-in (@firestore-emulator/server) started in-process on a free port, with
 * an Admin SDK app pointed at it, for the store tests.
 */
import { createServer } from "node:net";
import { FirestoreServer } from "@firestore-emulator/server";
import { randomUUID } from "node:crypto";
import { deleteApp, initializeApp } from "firebase-admin/app";
import {
  type DocumentReference,
  type Firestore,
  getFirestore,
  type WriteBatch,
} from "firebase-admin/firestore";

export interface LocalFirestore {
  db: Firestore;
  /** Deletes the app and stops the server. */
  stop(): Promise<void>;
}

export async function startLocalFirestore(projectId: string): Promise<LocalFirestore> {
  const port = await freePort();
  const server = new FirestoreServer();
  await server.start(port);
  process.env.FIRESTORE_EMULATOR_HOST = `127.0.0.1:${port}`;
  const app = initializeApp({ projectId }, projectId);
  return {
    db: getFirestore(app),
    async stop() {
      await deleteApp(app);
      server.stop();
    },
  };
}

/**
 * A Firestore client whose server accepts connections and never answers, for deadline tests.
 * The SDK reads the emulator address when the instance is made, so the address is swapped
 * only for that moment.
 */
export async function startHungFirestore(projectId: string): Promise<LocalFirestore> {
  const silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const address = silent.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const app = initializeApp({ projectId }, `hung-${randomUUID()}`);
  const direct = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = `127.0.0.1:${port}`;
  const db = getFirestore(app);
  process.env.FIRESTORE_EMULATOR_HOST = direct;
  return {
    db,
    async stop() {
      silent.close();
      await deleteApp(app);
    },
  };
}

/**
 * `db` with commits that fail as a whole, as Firestore's do: a batch with a `create()` whose
 * document is already there writes nothing and fails with ALREADY_EXISTS, where the stand-in
 * would have applied the writes before it. The check and the commit are two steps, so this is
 * for tests with one writer at a time.
 */
export function withAtomicCommits(db: Firestore): Firestore {
  return new Proxy(db, {
    get(target, key) {
      if (key === "batch") return () => atomicBatch(target);
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function atomicBatch(db: Firestore): WriteBatch {
  const batch = db.batch();
  const creates: DocumentReference[] = [];
  const create = batch.create.bind(batch);
  const commit = batch.commit.bind(batch);
  return Object.assign(batch, {
    create(ref: DocumentReference, data: Parameters<WriteBatch["create"]>[1]) {
      creates.push(ref);
      return create(ref, data);
    },
    async commit() {
      const found = creates.length === 0 ? [] : await db.getAll(...creates);
      if (found.some((snap) => snap.exists)) {
        throw Object.assign(new Error("6 ALREADY_EXISTS: entity already exists"), { code: 6 });
      }
      return commit();
    },
  });
}

/**
 * `db` whose next `count` commits land only `delayMs` after they are sent, as a commit the
 * Firestore client retried past its caller's deadline does. Later commits go at once.
 */
export function withLateCommits(db: Firestore, delayMs: number, count = 1): Firestore {
  let late = count;
  return new Proxy(db, {
    get(target, key) {
      if (key === "batch") {
        return () => {
          const batch = target.batch();
          if (late <= 0) return batch;
          late -= 1;
          const commit = batch.commit.bind(batch);
          return Object.assign(batch, {
            commit: () => new Promise((resolve) => setTimeout(resolve, delayMs)).then(commit),
          });
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Polls `check` until it holds or `withinMs` passes (then fails with the last value seen). */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  withinMs = 10_000,
): Promise<T> {
  const until = Date.now() + withinMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > until) throw new Error(`not reached: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
