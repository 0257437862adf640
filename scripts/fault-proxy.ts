/**
 * A TCP proxy that can fail on command, placed between the functions and Firestore so that the
 * integration suite can take Firestore away mid-call. Modes:
 * - `pass`: forward both ways (the default);
 * - `refuse`: stop listening and drop every open connection (callers see connection refused);
 * - `hang`: accept, and drop open connections' traffic on the floor, answering nothing;
 * - `cut`: forward `bytes` more bytes towards Firestore on each connection, then drop it.
 *
 * Control: `POST {controlUrl}/mode` with `{ "mode": "refuse" }` (or `cut` with `bytes`);
 * `GET {controlUrl}/mode` answers the current mode. Both listen on 127.0.0.1 only.
 */
import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";

export type ProxyMode =
  { mode: "pass" } | { mode: "refuse" } | { mode: "hang" } | { mode: "cut"; bytes: number };

export interface FaultProxy {
  /** `host:port` to point clients at. */
  address: string;
  /** Base URL of the control endpoint. */
  controlUrl: string;
  setMode(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Bytes still allowed towards upstream in `cut` mode. */
  budget: number;
}

/** Starts the proxy in front of `target` (`host:port`). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const [targetHost = "127.0.0.1", targetPort = ""] = target.split(":");
  let mode: ProxyMode = { mode: "pass" };
  const pairs = new Set<Pair>();
  let listening: Server | null = null;
  let port = 0;

  const drop = (pair: Pair) => {
    pair.client.destroy();
    pair.upstream.destroy();
    pairs.delete(pair);
  };

  const onConnection = (client: Socket) => {
    const upstream = connect(Number(targetPort), targetHost);
    const pair: Pair = {
      client,
      upstream,
      budget: mode.mode === "cut" ? mode.bytes : Number.POSITIVE_INFINITY,
    };
    pairs.add(pair);
    client.on("data", (chunk: Buffer) => {
      if (mode.mode === "hang") return;
      if (Number.isFinite(pair.budget)) {
        if (chunk.length >= pair.budget) {
          upstream.write(chunk.subarray(0, pair.budget));
          return drop(pair);
        }
        pair.budget -= chunk.length;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (mode.mode !== "hang") client.write(chunk);
    });
    const close = () => drop(pair);
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const server = createServer(onConnection);
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        const address = server.address();
        if (typeof address === "object" && address !== null) port = address.port;
        listening = server;
        resolve();
      });
    });

  const stopListening = () =>
    new Promise<void>((resolve) => {
      const server = listening;
      listening = null;
      if (server === null) return resolve();
      server.close(() => resolve());
    });

  const setMode = async (next: ProxyMode) => {
    mode = next;
    if (next.mode === "refuse") {
      await Promise.all([stopListening(), ...[...pairs].map((pair) => drop(pair))]);
    } else {
      if (listening === null) await listen();
      for (const pair of pairs) {
        pair.budget = next.mode === "cut" ? next.bytes : Number.POSITIVE_INFINITY;
      }
    }
  };

  await listen();

  const control = createHttpServer((req, res) => {
    if (req.url !== "/mode") return res.writeHead(404).end();
    if (req.method === "GET") {
      return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(mode));
    }
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      const parsed = parseMode(body);
      if (parsed === null) {
        return res
          .writeHead(400, { "content-type": "application/json" })
          .end(
            JSON.stringify({ error: 'expected {"mode":"pass"|"refuse"|"hang"|"cut","bytes"?}' }),
          );
      }
      void setMode(parsed).then(() =>
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(parsed)),
      );
    });
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
  const controlAddress = control.address();
  const controlPort =
    typeof controlAddress === "object" && controlAddress !== null ? controlAddress.port : 0;

  return {
    address: `127.0.0.1:${port}`,
    controlUrl: `http://127.0.0.1:${controlPort}`,
    setMode,
    async close() {
      for (const pair of pairs) drop(pair);
      await stopListening();
      await new Promise<void>((resolve) => control.close(() => resolve()));
    },
  };
}

function parseMode(body: string): ProxyMode | null {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { mode, bytes } = value as { mode?: unknown; bytes?: unknown };
  if (mode === "pass" || mode === "refuse" || mode === "hang") return { mode };
  if (mode === "cut" && typeof bytes === "number" && Number.isInteger(bytes) && bytes >= 0) {
    return { mode, bytes };
  }
  return null;
}
