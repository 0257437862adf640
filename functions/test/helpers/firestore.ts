/**
 * The Firestore stand-in (@firestore-emulator/server) started in-process on a free port, with
 * an Admin SDK app pointed at it, for the store tests.
 */
import { createServer } from "node:net";
import { FirestoreServer } from "@firestore-emulator/server";
import { deleteApp, initializeApp } from "firebase-admin/app";
import { type Firestore, getFirestore } from "firebase-admin/firestore";

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
