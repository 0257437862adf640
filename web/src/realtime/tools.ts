import type { RealtimeClientEvent, RealtimeFunctionTool } from "openai/resources/realtime/realtime";
import type { ConversationLog } from "./conversation";
import { messageOf } from "./errors";
import type { RealtimeTool } from "./types";

/** The calls one response made, and whether the model should be asked to go on. */
interface ToolBatch {
  pending: number;
  responseDone: boolean;
  continueAfter: boolean;
}

/**
 * Runs the model's function calls and answers them. The server does not resume by itself
 * after tool output, and refuses a `response.create` while a response is active, so one
 * `response.create` follows per response: after it is done and all its calls have answered.
 */
export class ToolRunner {
  readonly #tools = new Map<string, RealtimeTool>();
  readonly #log: ConversationLog;
  readonly #send: (event: RealtimeClientEvent) => void;
  readonly #isClosed: () => boolean;
  /** A call may be announced twice (arguments done, then response.done); it runs once. */
  readonly #handledCalls = new Set<string>();
  readonly #batches = new Map<string, ToolBatch>();

  constructor(hooks: {
    tools: readonly RealtimeTool[];
    /** Where calls and their output are logged. */
    log: ConversationLog;
    send: (event: RealtimeClientEvent) => void;
    /** A handler that settles after this turns true has its result dropped. */
    isClosed: () => boolean;
  }) {
    for (const tool of hooks.tools) this.#tools.set(tool.name, tool);
    this.#log = hooks.log;
    this.#send = hooks.send;
    this.#isClosed = hooks.isClosed;
  }

  get size(): number {
    return this.#tools.size;
  }

  /** Adds or replaces a tool; returns the function that removes it (false if already gone). */
  register(tool: RealtimeTool): () => boolean {
    this.#tools.set(tool.name, tool);
    return () => {
      if (this.#tools.get(tool.name) !== tool) return false;
      this.#tools.delete(tool.name);
      return true;
    };
  }

  /** The tool list as `session.update` declares it. */
  definitions(): RealtimeFunctionTool[] {
    return [...this.#tools.values()].map((tool) => ({
      type: "function",
      name: tool.name,
      description: tool.description,
      parameters: tool.parameters,
    }));
  }

  /** Runs a call of `responseId` once its arguments are complete; a repeat is ignored. */
  run(responseId: string, callId: string, name: string, rawArgs: string): void {
    if (this.#handledCalls.has(callId)) return;
    this.#handledCalls.add(callId);
    let batch = this.#batches.get(responseId);
    if (!batch) {
      batch = { pending: 0, responseDone: false, continueAfter: true };
      this.#batches.set(responseId, batch);
    }
    batch.pending += 1;
    this.#log.startTool(callId, name, rawArgs);

    void invokeTool(this.#tools.get(name), name, callId, rawArgs).then(({ output, ok }) => {
      if (this.#isClosed()) return;
      this.#log.finishTool(callId, ok, output);
      this.#send({
        type: "conversation.item.create",
        item: { type: "function_call_output", call_id: callId, output },
      });
      const current = this.#batches.get(responseId);
      if (current) {
        current.pending -= 1;
        this.#maybeContinue(responseId);
      }
    });
  }

  /**
   * The response ended. After a cancelled one the user has moved on: its calls are still
   * answered, but the model is not asked to continue.
   */
  responseDone(responseId: string, status: unknown): void {
    const batch = this.#batches.get(responseId);
    if (!batch) return;
    batch.responseDone = true;
    batch.continueAfter = status !== "cancelled";
    this.#maybeContinue(responseId);
  }

  /** Forgets the batches in progress (the session closed). */
  clear(): void {
    this.#batches.clear();
  }

  #maybeContinue(responseId: string): void {
    const batch = this.#batches.get(responseId);
    if (!batch || batch.pending > 0 || !batch.responseDone) return;
    this.#batches.delete(responseId);
    if (batch.continueAfter) this.#send({ type: "response.create" });
  }
}

/** Runs one handler; whatever goes wrong becomes `{"error": …}` for the model to read. */
async function invokeTool(
  tool: RealtimeTool | undefined,
  name: string,
  callId: string,
  rawArgs: string,
): Promise<{ output: string; ok: boolean }> {
  if (!tool) return { output: JSON.stringify({ error: `Unknown tool "${name}".` }), ok: false };
  let args: unknown;
  try {
    args = rawArgs.trim() === "" ? {} : JSON.parse(rawArgs);
  } catch {
    return { output: JSON.stringify({ error: "The arguments are not valid JSON." }), ok: false };
  }
  try {
    const result: unknown = await tool.handler(args, { callId });
    return {
      output: typeof result === "string" ? result : JSON.stringify(result ?? null),
      ok: true,
    };
  } catch (error) {
    return { output: JSON.stringify({ error: messageOf(error) }), ok: false };
  }
}
