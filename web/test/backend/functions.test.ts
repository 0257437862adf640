import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { deleteApp, initializeApp, type FirebaseApp } from "firebase/app";
import { httpsCallable } from "firebase/functions";
import { afterEach, describe, expect, it } from "vitest";
import { connectFunctions } from "../../src/backend/functions";
import { REAL_TIME } from "../timeouts";

const apps: FirebaseApp[] = [];
function app(): FirebaseApp {
  const created = initializeApp(
    { apiKey: "demo", projectId: "demo-fn", appId: "1:1:web:1" },
    `functions-${apps.length}-${Math.random()}`,
  );
  apps.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => deleteApp(a)));
});

/** A local server that answers every callable and records the paths it was asked for. */
async function emulator(): Promise<{ port: number; paths: string[]; close: () => void }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? "");
    res.setHeader("access-control-allow-origin", "*");
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ result: { ok: true } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { port, paths, close: () => server.close() };
}

describe("connectFunctions", REAL_TIME, () => {
  it("uses the configured region", () => {
    const functions = connectFunctions(app(), { functionsRegion: "europe-west1", emulators: null });
    expect(functions.region).toBe("europe-west1");
  });

  it("sends the callables to the emulator, in the configured region", async () => {
    const server = await emulator();
    try {
      const functions = connectFunctions(app(), {
        functionsRegion: "europe-west1",
        emulators: { host: "127.0.0.1", authPort: 1, functionsPort: server.port },
      });
      const result = await httpsCallable(functions, "ping")({});
      expect(result.data).toEqual({ ok: true });
      expect(server.paths).toEqual(["/demo-fn/europe-west1/ping"]);
    } finally {
      server.close();
    }
  });

  it("gives each app one instance, connected once: the first config decides", async () => {
    const server = await emulator();
    try {
      const first = app();
      const functions = connectFunctions(first, {
        functionsRegion: "europe-west1",
        emulators: { host: "127.0.0.1", authPort: 1, functionsPort: server.port },
      });
      const again = connectFunctions(first, { functionsRegion: "us-central1", emulators: null });
      expect(again).toBe(functions);
      await httpsCallable(again, "ping")({});
      expect(server.paths).toEqual(["/demo-fn/europe-west1/ping"]);
      const other = connectFunctions(app(), { functionsRegion: "europe-west1", emulators: null });
      expect(other).not.toBe(functions);
    } finally {
      server.close();
    }
  });
});
