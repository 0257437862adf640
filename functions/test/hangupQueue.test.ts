/**
 * The real Admin SDK's task queue against a hand-written stand-in of the Cloud Tasks emulator's
 * enqueue route (what firebase-tools 15's tasksEmulator answers: 200 with the task, 409 for a
 * name it has seen, 404 for an unknown queue).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { deleteApp, getApps, initializeApp } from "firebase-admin/app";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  enqueueHangup,
  EnqueueTimeoutError,
  type HangupQueue,
  type HangupTask,
  hangupQueue,
  hangupTaskId,
} from "../src/hangupQueue";
import { HOOK_MS, REAL_TIME } from "./helpers/timeouts";

interface Received {
  path: string;
  authorization: string | undefined;
  task: {
    name?: string;
    scheduleTime?: string;
    dispatchDeadline?: string;
    httpRequest: { body: string; oidcToken?: { serviceAccountEmail: string } };
  };
}

const PROJECT = "demo-hangup-queue";
let server: Server;
let mode: "ok" | "500" | "hang" = "ok";
const names = new Set<string>();
const received: Received[] = [];
const hung: ServerResponse[] = [];

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void (async () => {
      const path = req.url ?? "";
      const match = /^\/projects\/([^/]+)\/locations\/([^/]+)\/queues\/([^/]+)\/tasks$/.exec(path);
      if (req.method !== "POST" || !match) return void res.writeHead(404).end("no such route");
      const { task } = JSON.parse(await body(req)) as { task: Received["task"] };
      received.push({ path, authorization: req.headers.authorization, task });
      if (mode === "hang") return void hung.push(res);
      if (mode === "500")
        return void res
          .writeHead(500, { "content-type": "application/json" })
          .end(JSON.stringify({ error: { status: "INTERNAL", message: "boom" } }));
      if (match[3] !== "hangupCall") return void res.writeHead(404).end("non-existent queue");
      if (task.name && names.has(task.name))
        return void res.writeHead(409).end("A task with the same name already exists");
      if (task.name) names.add(task.name);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ task }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  process.env.CLOUD_TASKS_EMULATOR_HOST = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  // What the Functions emulator gives a function's worker: google-auth-library then believes it
  // runs on Google Cloud and asks the (unreachable) metadata server for the service account.
  process.env.K_SERVICE = "hangup-queue-test";
  process.env.FUNCTION_NAME = "hangup-queue-test";
  initializeApp({ projectId: PROJECT });
}, HOOK_MS);
afterEach(() => {
  mode = "ok";
  for (const res of hung.splice(0)) res.destroy();
});
afterAll(async () => {
  delete process.env.CLOUD_TASKS_EMULATOR_HOST;
  delete process.env.K_SERVICE;
  delete process.env.FUNCTION_NAME;
  await Promise.all(getApps().map((app) => deleteApp(app)));
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}, HOOK_MS);

const EMULATOR_ENV = { FUNCTIONS_EMULATOR: "true" } as NodeJS.ProcessEnv;
const task = (callId: string, deadlineMs = Date.parse("2026-11-30T21:00:00Z")): HangupTask => ({
  uid: "user-1",
  seq: 7,
  callId,
  deadlineMs,
});

describe("enqueueHangup through the Admin SDK", REAL_TIME, () => {
  it("enqueues one task named after the call, scheduled for the deadline, in milliseconds", async () => {
    const queue = hangupQueue("hangupCall", EMULATOR_ENV);
    const started = performance.now();
    await expect(
      enqueueHangup(queue, task("rtc_abc"), { timeoutMs: 2000, dispatchDeadlineSeconds: 60 }),
    ).resolves.toBe("enqueued");
    const elapsed = performance.now() - started;
    // The default app spends ~2.1 s on every enqueue asking the metadata server for an account.
    expect(elapsed).toBeLessThan(1000);

    const [sent] = received.slice(-1);
    expect(sent?.path).toBe(`/projects/${PROJECT}/locations/us-central1/queues/hangupCall/tasks`);
    expect(sent?.authorization).toBe("Bearer owner");
    expect(sent?.task.name).toBe(
      `projects/${PROJECT}/locations/us-central1/queues/hangupCall/tasks/${hangupTaskId("rtc_abc")}`,
    );
    expect(sent?.task.scheduleTime).toBe("2026-11-30T21:00:00.000Z");
    expect(sent?.task.dispatchDeadline).toBe("60s");
    expect(sent?.task.httpRequest.oidcToken?.serviceAccountEmail).toMatch(/@/);
    const payload = JSON.parse(Buffer.from(sent?.task.httpRequest.body ?? "", "base64").toString());
    expect(payload).toEqual({ data: task("rtc_abc") });
  });

  it("reports a second task for the same call as already enqueued", async () => {
    const queue = hangupQueue("hangupCall", EMULATOR_ENV);
    await expect(enqueueHangup(queue, task("rtc_dup"), { timeoutMs: 2000 })).resolves.toBe(
      "enqueued",
    );
    await expect(
      enqueueHangup(queue, task("rtc_dup", Date.now() + 5000), { timeoutMs: 2000 }),
    ).resolves.toBe("already-enqueued");
  });

  it("throws the SDK's error for any other failure", async () => {
    mode = "500";
    const error = await enqueueHangup(hangupQueue("hangupCall", EMULATOR_ENV), task("rtc_500"), {
      timeoutMs: 2000,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "functions/internal-error" });
    const missing = await enqueueHangup(hangupQueue("noSuchQueue", EMULATOR_ENV), task("rtc_x"), {
      timeoutMs: 2000,
    }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: expect.stringMatching(/^functions\//) });
  });

  it("gives up at its deadline when the queue does not answer", async () => {
    mode = "hang";
    const started = performance.now();
    const error = await enqueueHangup(hangupQueue("hangupCall", EMULATOR_ENV), task("rtc_h"), {
      timeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnqueueTimeoutError);
    expect(performance.now() - started).toBeLessThan(1500);
  });
});

describe("enqueueHangup with a fake queue", () => {
  it("passes the id and schedule, and maps only task-already-exists", async () => {
    const calls: unknown[] = [];
    let fail: unknown;
    const queue: HangupQueue = {
      enqueue(data, options) {
        calls.push({ data, options });
        return fail === undefined ? Promise.resolve() : Promise.reject(fail);
      },
    };
    await enqueueHangup(queue, task("rtc_1", 1_800_000_000_000), { timeoutMs: 100 });
    expect(calls).toEqual([
      {
        data: task("rtc_1", 1_800_000_000_000),
        options: { id: hangupTaskId("rtc_1"), scheduleTime: new Date(1_800_000_000_000) },
      },
    ]);
    fail = Object.assign(new Error("exists"), { code: "functions/task-already-exists" });
    await expect(enqueueHangup(queue, task("rtc_1"), { timeoutMs: 100 })).resolves.toBe(
      "already-enqueued",
    );
    fail = Object.assign(new Error("denied"), { code: "functions/permission-denied" });
    await expect(enqueueHangup(queue, task("rtc_1"), { timeoutMs: 100 })).rejects.toThrow("denied");
  });
});

describe("hangupTaskId", () => {
  it("is stable per call, distinct across calls, and within Cloud Tasks' id rules", () => {
    expect(hangupTaskId("rtc_abc")).toBe(hangupTaskId("rtc_abc"));
    expect(hangupTaskId("rtc_abc")).not.toBe(hangupTaskId("rtc_abd"));
    expect(hangupTaskId("rtc_abc")).toMatch(/^[0-9a-f]{12}-rtc_abc$/);
    for (const id of ["rtc_a/b c", "x".repeat(1000), "ünïcode"])
      expect(hangupTaskId(id)).toMatch(/^[A-Za-z0-9_-]{1,500}$/);
    // Ids that sanitize alike still differ by their hash.
    expect(hangupTaskId("a/b")).not.toBe(hangupTaskId("a_b"));
  });
});
