/**
 * Starts @firestore-emulator/server on 127.0.0.1 only. Its own `start()` binds 0.0.0.0, which
 * would let any machine on the network read and write the local database.
 */
import { createRequire } from "node:module";
import { FirestoreServer } from "@firestore-emulator/server";

interface GrpcServer {
  bindAsync(address: string, credentials: unknown, callback: (error: Error | null) => void): void;
}

/** The stand-in, listening on 127.0.0.1:`port`; `stop()` shuts it down. */
export async function startFirestoreStandin(port: number): Promise<{ stop(): void }> {
  const firestore = new FirestoreServer();
  // The same @grpc/grpc-js instance the stand-in was built with.
  const grpc = createRequire(import.meta.resolve("@firestore-emulator/server"))(
    "@grpc/grpc-js",
  ) as { ServerCredentials: { createInsecure(): unknown } };
  const server = (firestore as unknown as { server: GrpcServer }).server;
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) =>
      error ? reject(error) : resolve(),
    ),
  );
  return { stop: () => firestore.stop() };
}
