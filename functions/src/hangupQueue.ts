/**
 * Enqueuing the deadline hang-up of a brokered call on a Cloud Tasks queue (the queue of an
 * `onTaskDispatched` function), one task per call, scheduled for the call's deadline.
 *
 * Measured in the Functions emulator (firebase-tools 15, offline): with the default Admin app
 * every `enqueue()` took 2.1 s, because google-auth-library sees `K_SERVICE`/`FUNCTION_NAME`,
 * believes it runs on Google Cloud and asks the metadata server (169.254.169.254) for the
 * service account email that the task's OIDC token names; the request fails after ~2 s and
 * the Admin SDK, which caches only a success, asks again on the next enqueue
 * (`METADATA_SERVER_DETECTION=none`, which the emulator sets, does not stop it). An Admin app
 * with an explicit `serviceAccountId` skips the lookup: 1–4 ms per enqueue. In production the
 * lookup succeeds once against the real metadata server and is cached, so the default app is
 * used there.
 *
 * The emulator dispatches at once, ignoring the schedule (it only passes the time on in the
 * `X-CloudTasks-TaskETA` header): the task handler must check the deadline itself
 * (`decideDeadlineTask` in minutes.ts). Production Cloud Tasks honours `scheduleTime`.
 * Measured there with a handler that waits out the early dispatch and then hangs up on the
 * stand-in: with a warm task worker a task arrived 15–50 ms after its enqueue, and the hang-up
 * completed 6–89 ms after a 3 s or 10 s deadline (18 calls); while the emulator was still
 * starting the task function's first workers, 8 tasks enqueued at once arrived 5–9 s after
 * enqueue, late for a 3 s deadline. Tests of hang-up lateness warm the task function first.
 */
import { createHash } from "node:crypto";
import { type App, getApp, getApps, initializeApp } from "firebase-admin/app";
import { getFunctions, type TaskOptions } from "firebase-admin/functions";
import type { VoiceApi } from "voice-contract";

/** What the deadline task carries: enough to find the call's record and end the call. */
export interface HangupTask {
  uid: string;
  /** The call's sequence number: its record's id. */
  seq: number;
  /** Upstream's call id. */
  callId: string;
  /** When the call's slice runs out (unix ms). */
  deadlineMs: number;
  /** The upstream the call runs on; absent: `realtime` (tasks enqueued before Live calls). */
  api?: VoiceApi;
}

/** The part of the Admin SDK's `TaskQueue` used here; tests pass a fake. */
export interface HangupQueue {
  enqueue(data: HangupTask, options: TaskOptions): Promise<void>;
}

export type EnqueueOutcome = "enqueued" | "already-enqueued";

/** The service account the emulator's tasks are said to run as; nothing checks it there. */
const EMULATED_SERVICE_ACCOUNT = "emulated-tasks@demo-project.iam.gserviceaccount.com";
const EMULATOR_APP = "hangup-queue-emulator";

/**
 * The Admin SDK's queue of the task function `functionName`. Under the emulator it uses an app
 * with an explicit service account (see the module comment); elsewhere the default app.
 */
export function hangupQueue(functionName: string, env = process.env): HangupQueue {
  return getFunctions(tasksApp(env)).taskQueue<HangupTask>(functionName);
}

function tasksApp(env: NodeJS.ProcessEnv): App {
  if (env.FUNCTIONS_EMULATOR !== "true" && env.CLOUD_TASKS_EMULATOR_HOST === undefined)
    return getApp();
  const existing = getApps().find((app) => app.name === EMULATOR_APP);
  if (existing) return existing;
  const base = getApps().length > 0 ? getApp().options : {};
  return initializeApp({ ...base, serviceAccountId: EMULATED_SERVICE_ACCOUNT }, EMULATOR_APP);
}

/**
 * The task's id, derived from the call id so that enqueuing twice for one call is refused by
 * Cloud Tasks itself. A hash prefix spreads ids over Cloud Tasks' key space (sequential or
 * common prefixes slow it down); the call id stays readable after it.
 */
export function hangupTaskId(callId: string): string {
  const hash = createHash("sha256").update(callId).digest("hex").slice(0, 12);
  const readable = callId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 400);
  return `${hash}-${readable}`;
}

/**
 * Enqueues the call's hang-up for its deadline. A task already enqueued for this call id
 * (a retried callable, a duplicate) is `already-enqueued`, not an error. Any other failure
 * throws: the caller decides (the call is live; hang it up now rather than leave it unbounded).
 */
export async function enqueueHangup(
  queue: HangupQueue,
  task: HangupTask,
  options: { timeoutMs: number; dispatchDeadlineSeconds?: number },
): Promise<EnqueueOutcome> {
  const taskOptions: TaskOptions = {
    id: hangupTaskId(task.callId),
    scheduleTime: new Date(task.deadlineMs),
    ...(options.dispatchDeadlineSeconds !== undefined
      ? { dispatchDeadlineSeconds: options.dispatchDeadlineSeconds }
      : {}),
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EnqueueTimeoutError(options.timeoutMs)), options.timeoutMs);
  });
  try {
    await Promise.race([queue.enqueue(task, taskOptions), timeout]);
    return "enqueued";
  } catch (error) {
    if (isAlreadyExists(error)) return "already-enqueued";
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The enqueue did not finish within its deadline; whether the task exists is unknown. */
export class EnqueueTimeoutError extends Error {
  override readonly name = "EnqueueTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`Enqueuing the hang-up task took longer than ${timeoutMs} ms.`);
  }
}

function isAlreadyExists(error: unknown): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { code?: unknown }).code === "functions/task-already-exists"
  );
}
