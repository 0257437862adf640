/*
 * A local server in place of a callable, for tests that need the Firebase SDK's real errors
 * (its timeout, a refused port, a status and body it reads).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { deleteApp, initializeApp } from "firebase/app";
import { connectFunctionsEmulator, getFunctions } from "firebase/functions";

/** The Firebase SDK's Functions, pointed at a callable server on `port`. */
export function functionsAt(port: number) {
  const app = initializeApp(
    { apiKey: "demo", projectId: "demo-sdk", appId: "1:1:web:1" },
    `b${port}-${Math.random()}`,
  );
  const functions = getFunctions(app, "us-central1");
  connectFunctionsEmulator(functions, "127.0.0.1", port);
  return { functions, close: () => deleteApp(app) };
}

/** How the server answers one request: never, or with a status and a JSON body. */
export type Reply = "hang" | { status: number; body?: unknown };

/** A {@link Reply} that never answers. */
export const hangs = (): Reply => "hang";

/**
 * A server on `port` (a free one by default) answering each request as `reply` says at the
 * time (by default a bare 500); `requests` records the JSON bodies it received.
 */
export async function listen(reply: () => Reply = () => ({ status: 500 }), port = 0) {
  const requests: unknown[] = [];
  const server = createServer((req, res) => {
    res.setHeader("access-control-allow-origin", "*");
    let text = "";
    req.on("data", (chunk: Buffer) => (text += chunk.toString()));
    req.on("end", () => {
      requests.push(JSON.parse(text || "null"));
      const answer = reply();
      if (answer === "hang") return;
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    requests,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
