/**
 * A local stand-in for the OpenAI Realtime and Live APIs: mints client secrets, answers WebRTC
 * calls and Live sessions with werift and runs a scripted conversation, serves Live's sideband
 * WebSocket, so the template runs and is tested offline. See README.md for what it emulates
 * and the test-only `/_standin/*` endpoints.
 */
import { randomBytes } from "node:crypto";
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { LiveCreateResponse } from "openai/resources/live/live";
import { WebSocketServer } from "ws";
import { errorBody, errors, fail, ok, type ApiError, type Result } from "./api-errors.js";
import { Call, InvalidOfferError, type CallSnapshot } from "./call.js";
import { MULTIPART, parseCallForm } from "./call-form.js";
import {
  clientSecretResponse,
  isExpired,
  issueSecret,
  parseClientSecretRequest,
  type IssuedSecret,
} from "./client-secret-request.js";
import { FaultQueue, parseFault, type Fault, type FaultRoute } from "./faults.js";
import { randomId } from "./ids.js";
import { parseLiveCreateRequest } from "./live/config.js";
import { LiveCall, type LiveSessionSnapshot } from "./live/live-call.js";
import { resolveSession, type Session } from "./session.js";
import * as v from "./validate.js";

export type { CallSnapshot, EndedReason } from "./call.js";
export type { Fault, FaultRoute } from "./faults.js";
export type { LiveEndedBy, LiveSessionSnapshot } from "./live/live-call.js";

/** Options for {@link startStandin}. */
export interface StandinOptions {
  /** Interface to listen on. Default `"127.0.0.1"`. */
  host?: string;
  /** TCP port; `0` (the default) picks a free one. The CLI defaults to 8790. */
  port?: number;
  /** Length of each scripted spoken answer, streamed in real time. Default 3000 ms (long enough to interrupt). */
  responseAudioMs?: number;
  /** Calls end at this age, as upstream caps sessions. Default 1800 s. */
  maxCallSeconds?: number;
  /** Peers that never connect, or stay disconnected this long, are cleaned up. Default 30 s. */
  idleCallSeconds?: number;
  /** How often a Live session sends `session.usage.updated`. Default 1000 ms. */
  liveUsageIntervalMs?: number;
  /** Wall clock in ms; inject it to test secret expiry. Default `Date.now`. */
  now?: () => number;
  /** Receives one line per notable event. Never given a key or secret value. Default: silent. */
  log?: (line: string) => void;
}

/** A running stand-in. */
export interface Standin {
  /** Origin of the server, e.g. `http://127.0.0.1:8790`. */
  url: string;
  /** `url + "/v1"`: what `OPENAI_BASE_URL` or the openai SDK's `baseURL` wants. */
  baseUrl: string;
  /** Ends all calls and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** The body of `GET /_standin/state`. */
export interface StandinState {
  secrets: { value: string; expiresAt: number; session: Session }[];
  calls: CallSnapshot[];
  /** Live sessions (`POST /v1/live/sessions`) in creation order. */
  liveSessions: LiveSessionSnapshot[];
  requests: { clientSecrets: number; calls: number; liveSessions: number };
  faults: Fault[];
}

const MAX_BODY_BYTES = 1024 * 1024;
const CALLS_PATH = "/v1/realtime/calls";
const HANGUP_PATH = /^\/v1\/realtime\/calls\/([^/]+)\/hangup$/;
const VANISH_PATH = /^\/_standin\/calls\/([^/]+)\/vanish$/;
const LIVE_SESSIONS_PATH = "/v1/live/sessions";
const ATTACH_PATH = /^\/v1\/live\/sessions\/([^/]+)\/attach$/;

/** Starts the stand-in and resolves once it is listening. */
export async function startStandin(options: StandinOptions = {}): Promise<Standin> {
  const host = options.host ?? "127.0.0.1";
  const responseAudioMs = options.responseAudioMs ?? 3000;
  const defaultMaxCallSeconds = options.maxCallSeconds ?? 1800;
  /** `POST /_standin/limits` changes it for calls opened afterwards. */
  let maxCallSeconds = defaultMaxCallSeconds;
  const idleCallSeconds = options.idleCallSeconds ?? 30;
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});

  const secrets = new Map<string, IssuedSecret>();
  /**
   * Calls in creation order. An ended call is replaced in place by its final snapshot, so long
   * sessions do not hold on to closed peer connections.
   */
  const calls = new Map<string, Call | CallSnapshot>();
  const liveCalls = () => [...calls.values()].filter((c): c is Call => c instanceof Call);
  /** Live sessions, kept as {@link calls} are: an ended one by its final snapshot. */
  const liveSessions = new Map<string, LiveCall | LiveSessionSnapshot>();
  const runningLive = () =>
    [...liveSessions.values()].filter((c): c is LiveCall => c instanceof LiveCall);
  const liveUsageIntervalMs = options.liveUsageIntervalMs ?? 1000;
  const faults = new FaultQueue();
  const requests = { clientSecrets: 0, calls: 0, liveSessions: 0 };
  /** Requests a `hang` fault holds open; destroyed on close so shutdown never waits on them. */
  const hanging = new Set<ServerResponse>();
  /** Sideband upgrades held by a `hang` or `delay` fault; close() destroys them. */
  const heldUpgrades = new Set<Duplex>();

  const state = (): StandinState => ({
    secrets: [...secrets.values()].map((s) => ({
      value: s.value,
      expiresAt: s.expiresAt,
      session: s.session,
    })),
    calls: [...calls.values()].map((c) => (c instanceof Call ? c.snapshot() : c)),
    liveSessions: [...liveSessions.values()].map((c) => (c instanceof LiveCall ? c.snapshot() : c)),
    requests: { ...requests },
    faults: faults.list(),
  });

  /**
   * Applies an injected fault; true when the request has been dealt with. A `delay` holds the
   * request and then lets it through (false), unless the caller went away meanwhile.
   */
  const applyFault = async (route: FaultRoute, res: ServerResponse): Promise<boolean> => {
    const fault = faults.take(route);
    if (!fault) return false;
    const detail =
      fault.kind === "status"
        ? ` ${fault.status}`
        : fault.kind === "delay"
          ? ` ${fault.ms} ms`
          : "";
    log(`${route}: injected ${fault.kind}${detail}`);
    if (fault.kind === "hang" || fault.kind === "delay") {
      hanging.add(res);
      res.on("close", () => hanging.delete(res));
    }
    if (fault.kind === "hang") return true;
    if (fault.kind === "delay") {
      let gone = false;
      res.once("close", () => (gone = true));
      // Unref'd: a held request must not keep a closing process alive.
      await new Promise((resolve) => setTimeout(resolve, fault.ms).unref());
      hanging.delete(res);
      // The caller gave up (its timeout) or close() ended it: nothing is left to answer, and
      // nothing happens on its behalf. Reading a body would fail here anyway, but a hang-up
      // reads none and would still end its call.
      return gone;
    }
    if (fault.kind === "status") sendError(res, faultError(fault));
    else {
      const type = route === "calls" ? "application/sdp" : "application/json";
      res.writeHead(200, { "content-type": type }).end(fault.body);
    }
    return true;
  };

  const handleClientSecrets = async (req: IncomingMessage, res: ServerResponse) => {
    requests.clientSecrets += 1;
    if (await applyFault("client_secrets", res)) return;
    if (!hasStandardKey(req)) return sendError(res, errors.invalidApiKey());
    // Upstream takes an empty body as no options.
    const body = await readJson(req, { emptyIsUndefined: true });
    if (!body.ok) return sendError(res, body.error);
    const parsed = parseClientSecretRequest(body.value);
    if (!parsed.ok) {
      log(`client_secrets 400 ${parsed.error.code ?? ""} ${parsed.error.param ?? ""}`.trimEnd());
      return sendError(res, parsed.error);
    }
    const secret = issueSecret(parsed.value, randomId, now());
    secrets.set(secret.value, secret);
    log(
      `client_secrets 200 ${secret.session.id} model=${secret.session.model} ttl=${parsed.value.ttlSeconds}s`,
    );
    sendJson(res, 200, clientSecretResponse(secret));
  };

  const handleCall = async (req: IncomingMessage, res: ServerResponse) => {
    requests.calls += 1;
    if (await applyFault("calls", res)) return;
    const token = bearer(req);
    let secret: IssuedSecret | undefined;
    let session: Session;
    if (token?.startsWith("ek_")) {
      secret = secrets.get(token);
      if (!secret) return sendError(res, errors.invalidApiKey("Invalid client secret provided."));
      if (isExpired(secret, now()))
        return sendError(
          res,
          errors.invalidApiKey("The client secret has expired. Mint a new one."),
        );
      session = { ...secret.session, id: randomId("sess") };
    } else if (hasStandardKey(req)) {
      session = resolveSession({ type: "realtime" }, { id: randomId("sess"), expiresAt: 0 });
    } else return sendError(res, errors.invalidApiKey());

    const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    let offer: string;
    if (contentType === MULTIPART && !secret) {
      const form = await parseCallForm(await readBody(req), req.headers["content-type"] ?? "");
      if (!form.ok) return sendError(res, form.error);
      offer = form.value.sdp;
      session = resolveSession(form.value.session, { id: session.id, expiresAt: 0 });
    } else if (contentType !== "application/sdp")
      return sendError(
        res,
        errors.invalidRequest(
          `Unsupported content type: '${contentType || "(none)"}'. Send the SDP offer as 'application/sdp'` +
            (secret ? " (a client secret carries its session)." : ", or the multipart form."),
          "unsupported_content_type",
          null,
        ),
      );
    else offer = (await readBody(req)).toString("utf8");
    const id = randomId("rtc");
    try {
      const { call, answerSdp } = await Call.answer(offer, {
        id,
        secret: secret?.value ?? null,
        session,
        newId: randomId,
        responseAudioMs,
        maxCallSeconds,
        idleCallSeconds,
        nowMs: now(),
        now,
        safetyIdentifier: safetyIdentifier(req),
        log,
        onEnded: (ended) => {
          // A call whose negotiation failed was never listed.
          if (calls.has(ended.id)) calls.set(ended.id, ended.snapshot());
        },
      });
      calls.set(id, call);
      log(`call ${id} answered (${session.model}, ${liveCalls().length} live calls)`);
      res
        .writeHead(201, { "content-type": "application/sdp", location: `${CALLS_PATH}/${id}` })
        .end(answerSdp);
    } catch (error) {
      if (!(error instanceof InvalidOfferError)) throw error;
      sendError(res, errors.invalidRequest(error.message, "invalid_offer", null));
    }
  };

  /**
   * `POST /v1/live/sessions`: JSON `{ session, transport: { type: "webrtc", sdp } }` with the
   * project key (Live has no client secrets), answered `{ session: { id }, transport }`.
   */
  const handleLiveCreate = async (req: IncomingMessage, res: ServerResponse) => {
    requests.liveSessions += 1;
    if (await applyFault("live_sessions", res)) return;
    if (!hasStandardKey(req)) return sendError(res, errors.invalidApiKey());
    const body = await readJson(req);
    if (!body.ok) return sendError(res, body.error);
    const parsed = parseLiveCreateRequest(body.value);
    if (!parsed.ok) {
      log(`live_sessions 400 ${parsed.error.code ?? ""} ${parsed.error.param ?? ""}`.trimEnd());
      return sendError(res, parsed.error);
    }
    const id = randomId("live");
    try {
      const { call, answerSdp } = await LiveCall.answer(parsed.value.sdp, {
        id,
        config: parsed.value.session,
        newId: randomId,
        responseAudioMs,
        maxCallSeconds,
        idleCallSeconds,
        usageIntervalMs: liveUsageIntervalMs,
        nowMs: now(),
        now,
        log,
        onEnded: (ended) => {
          if (liveSessions.has(ended.id)) liveSessions.set(ended.id, ended.snapshot());
        },
      });
      liveSessions.set(id, call);
      log(
        `live ${id} answered (${parsed.value.session.model}, ${runningLive().length} live sessions)`,
      );
      sendJson(res, 200, {
        session: { id },
        transport: { type: "webrtc", sdp: answerSdp },
      } satisfies LiveCreateResponse);
    } catch (error) {
      if (!(error instanceof InvalidOfferError)) throw error;
      sendError(res, errors.invalidRequest(error.message, "invalid_offer", "transport.sdp"));
    }
  };

  /**
   * Applies a `live_sideband` fault to an upgrade; true when the upgrade has been dealt with.
   * `status` refuses it with that status, `hang` never answers it, `garbage` answers 200 with
   * a body instead of switching protocols, `delay` holds it and then lets it through.
   */
  const applyUpgradeFault = async (socket: Duplex): Promise<boolean> => {
    const fault = faults.take("live_sideband");
    if (!fault) return false;
    log(`live_sideband: injected ${fault.kind}`);
    if (fault.kind === "status") {
      refuseUpgrade(socket, faultError(fault));
      return true;
    }
    if (fault.kind === "garbage") {
      socket.end(httpResponse(200, "text/html", fault.body));
      return true;
    }
    heldUpgrades.add(socket);
    socket.once("close", () => heldUpgrades.delete(socket));
    if (fault.kind === "hang") return true;
    await new Promise((resolve) => setTimeout(resolve, fault.ms).unref());
    heldUpgrades.delete(socket);
    return socket.destroyed;
  };

  /** The sideband: a WebSocket upgrade of `/v1/live/sessions/{id}/attach`, with the project key. */
  const sockets = new WebSocketServer({ noServer: true });
  const handleUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? "/", "http://standin").pathname;
    const attach = ATTACH_PATH.exec(path);
    const refuse = (error: ApiError) => refuseUpgrade(socket, error);
    if (!attach?.[1]) return refuse(errors.invalidUrl("GET", path));
    if (await applyUpgradeFault(socket)) return;
    if (!hasStandardKey(req)) return refuse(errors.invalidApiKey());
    const id = decodeURIComponent(attach[1]);
    const session = liveSessions.get(id);
    if (!(session instanceof LiveCall) || session.ended)
      return refuse(errors.notFound(`Live session '${id}' not found or already closed.`));
    sockets.handleUpgrade(req, socket, head, (ws) => {
      log(`live ${id}: sideband attached`);
      session.attach(ws);
    });
  };

  const handleHangup = async (id: string, req: IncomingMessage, res: ServerResponse) => {
    if (await applyFault("hangup", res)) return;
    if (!hasStandardKey(req)) return sendError(res, errors.invalidApiKey());
    const call = calls.get(id);
    if (!call) return sendError(res, errors.notFound(`Call '${id}' not found.`));
    if (call instanceof Call) await call.end("hangup");
    res.writeHead(200).end();
  };

  const handleControl = async (
    method: string,
    path: string,
    req: IncomingMessage,
    res: ServerResponse,
  ) => {
    if (method === "GET" && path === "/_standin/state") return sendJson(res, 200, state());
    if (method === "POST" && path === "/_standin/faults") {
      const body = await readJson(req);
      if (!body.ok) return sendError(res, body.error);
      const fault = parseFault(body.value);
      if (!fault.ok) return sendError(res, fault.error);
      faults.add(fault.value);
      return sendJson(res, 200, { faults: faults.list() });
    }
    if (method === "DELETE" && path === "/_standin/faults") {
      faults.clear();
      return sendJson(res, 200, { faults: [] });
    }
    const vanish = VANISH_PATH.exec(path);
    if (method === "POST" && vanish?.[1]) {
      const call = calls.get(decodeURIComponent(vanish[1]));
      if (!call && !liveSessions.has(decodeURIComponent(vanish[1])))
        return sendError(res, errors.notFound(`Call '${vanish[1]}' not found.`));
      if (call instanceof Call) await call.vanish();
      else if (!call) {
        const live = liveSessions.get(decodeURIComponent(vanish[1]));
        if (live instanceof LiveCall) await live.vanish();
      }
      return sendJson(res, 200, { vanished: true });
    }
    if (method === "POST" && path === "/_standin/limits") {
      const body = await readJson(req);
      if (!body.ok) return sendError(res, body.error);
      const problem =
        v.object(body.value, "", ["maxCallSeconds"], ["maxCallSeconds"]) ??
        v.integer((body.value as v.JsonObject).maxCallSeconds, "maxCallSeconds", 1);
      if (problem) return sendError(res, problem);
      maxCallSeconds = (body.value as { maxCallSeconds: number }).maxCallSeconds;
      log(`limits: maxCallSeconds=${maxCallSeconds} for new calls`);
      return sendJson(res, 200, { maxCallSeconds });
    }
    if (method === "DELETE" && path === "/_standin/limits") {
      maxCallSeconds = defaultMaxCallSeconds;
      return sendJson(res, 200, { maxCallSeconds });
    }
    if (method === "POST" && path === "/_standin/reset") {
      await endAll("reset");
      secrets.clear();
      calls.clear();
      liveSessions.clear();
      faults.clear();
      maxCallSeconds = defaultMaxCallSeconds;
      requests.clientSecrets = 0;
      requests.calls = 0;
      requests.liveSessions = 0;
      return sendJson(res, 200, { reset: true });
    }
    sendError(res, errors.invalidUrl(method, path));
  };

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? "GET";
    const path = new URL(req.url ?? "/", "http://standin").pathname;
    setCors(req, res);
    if (path.startsWith("/v1/"))
      res.setHeader("x-request-id", `req_${randomBytes(16).toString("hex")}`);
    if (method === "OPTIONS") return void res.writeHead(204).end();
    if (method === "POST" && path === "/v1/realtime/client_secrets")
      return handleClientSecrets(req, res);
    if (method === "POST" && path === CALLS_PATH) return handleCall(req, res);
    if (method === "POST" && path === LIVE_SESSIONS_PATH) return handleLiveCreate(req, res);
    const hangup = HANGUP_PATH.exec(path);
    if (method === "POST" && hangup?.[1])
      return handleHangup(decodeURIComponent(hangup[1]), req, res);
    if (path.startsWith("/_standin/")) return handleControl(method, path, req, res);
    sendError(res, errors.invalidUrl(method, path));
  };

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (error instanceof BodyTooLargeError)
        return sendError(res, { ...errors.invalidRequest(error.message, null, null), status: 413 });
      log(`internal error: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) sendError(res, errors.forStatus(500));
    });
  });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void handleUpgrade(req, socket, head);
  });

  const endAll = async (reason: "reset" | "standin_closed") => {
    await Promise.all([...liveCalls(), ...runningLive()].map((call) => call.end(reason)));
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log(`listening on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    baseUrl: `${url}/v1`,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const res of hanging) res.destroy();
        for (const socket of heldUpgrades) socket.destroy();
        await endAll("standin_closed");
        for (const ws of sockets.clients) ws.terminate();
        sockets.close();
        server.closeAllConnections();
        await stopped;
        log("closed");
      })();
      return closing;
    },
  };
}

function setCors(req: IncomingMessage, res: ServerResponse): void {
  // Reflecting the origin (rather than "*") keeps credentialed browser requests working too.
  res.setHeader("access-control-allow-origin", req.headers.origin ?? "*");
  res.setHeader("access-control-allow-methods", "GET, POST, DELETE, OPTIONS");
  // Upstream's preflight allows whatever headers the client asks for: OpenAI's own SDKs add
  // their own (the Agents SDK sends `X-OpenAI-Agents-SDK`, the openai package `X-Stainless-*`).
  res.setHeader(
    "access-control-allow-headers",
    req.headers["access-control-request-headers"] ?? "Authorization, Content-Type",
  );
  res.setHeader("vary", "Origin, Access-Control-Request-Headers");
  res.setHeader("access-control-expose-headers", "Location, x-request-id");
  res.setHeader("access-control-max-age", "600");
}

function bearer(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return match?.[1];
}

/** Upstream's Realtime API takes the end user's safety identifier as a header. */
function safetyIdentifier(req: IncomingMessage): string | null {
  const value = req.headers["openai-safety-identifier"];
  return typeof value === "string" && value !== "" ? value : null;
}

/** Any `sk-…` key of plausible length passes: the stand-in only checks the shape. */
function hasStandardKey(req: IncomingMessage): boolean {
  const token = bearer(req);
  return token !== undefined && token.startsWith("sk-") && token.length >= 10;
}

class BodyTooLargeError extends Error {}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new BodyTooLargeError(`Request body exceeds ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * A request's JSON body, or upstream's `invalid_json` error; `emptyIsUndefined` takes an empty
 * body as no body. A body over the limit throws, as {@link readBody} does.
 */
async function readJson(
  req: IncomingMessage,
  options: { emptyIsUndefined?: boolean } = {},
): Promise<Result<unknown>> {
  const raw = (await readBody(req)).toString("utf8");
  if (options.emptyIsUndefined && raw.trim() === "") return ok(undefined);
  try {
    return ok(JSON.parse(raw));
  } catch {
    return fail(errors.invalidJsonBody());
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function sendError(res: ServerResponse, error: ApiError): void {
  sendJson(res, error.status, { error: errorBody(error) });
}

/** OpenAI's error for a `status` fault, naming its `code` and `param` when it gives them. */
function faultError(fault: Extract<Fault, { kind: "status" }>): ApiError {
  return {
    ...errors.forStatus(fault.status),
    ...(fault.code !== undefined ? { code: fault.code } : {}),
    ...(fault.param !== undefined ? { param: fault.param } : {}),
  };
}

/** A whole HTTP/1.1 response on a raw socket (an upgrade refused or answered otherwise). */
function httpResponse(status: number, type: string, body: string): string {
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
    `content-type: ${type}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `connection: close\r\n\r\n${body}`
  );
}

/** Refuses a WebSocket upgrade with OpenAI's error body for `error`. */
function refuseUpgrade(socket: Duplex, error: ApiError): void {
  socket.end(
    httpResponse(error.status, "application/json", JSON.stringify({ error: errorBody(error) })),
  );
}
