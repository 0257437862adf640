/**
 * What the stand-in answers, with no model: derived from the latest user message, function
 * call or function output in the response's context (the table in the README). Pure.
 */
import type {
  RealtimeFunctionTool,
  RealtimeResponseCreateParams,
} from "openai/resources/realtime/realtime";
import { itemText, type StoredItem } from "./items.js";
import { functionTools, type Session } from "./session.js";

/** A response's answer: a message to say, or a function to call. */
export type Plan =
  { kind: "message"; text: string } | { kind: "function_call"; name: string; arguments: string };

export const GREETING = "Hello! This is the local OpenAI Realtime stand-in.";

/**
 * Decides the answer from the latest relevant item in `context`:
 * - a tool output → `The <name> tool returned: <output>`;
 * - a function call still without output → `Waiting for the output of <name>.` (so asking
 *   again does not loop on the tool);
 * - a user message that mentions a declared function tool (or a forced tool choice) → a
 *   call of that tool;
 * - a user message asking "what did I say" → the user message before it, quoted (so a test
 *   can see what earlier context a call holds, e.g. a conversation replayed into it);
 * - any other user message → `You said: "<text>"`;
 * - nothing yet → {@link GREETING}.
 */
export function planAnswer(
  context: readonly StoredItem[],
  params: RealtimeResponseCreateParams,
  session: Session,
): Plan {
  const last = context.findLast(
    (s) =>
      s.item.type === "function_call" ||
      s.item.type === "function_call_output" ||
      (s.item.type === "message" && s.item.role === "user"),
  );
  if (!last) return { kind: "message", text: GREETING };
  const item = last.item;
  if (item.type === "function_call_output") {
    const call = context.find(
      (s) => s.item.type === "function_call" && s.item.call_id === item.call_id,
    );
    const name = call?.item.type === "function_call" ? call.item.name : "function";
    return { kind: "message", text: `The ${name} tool returned: ${item.output}` };
  }
  if (item.type === "function_call")
    return { kind: "message", text: `Waiting for the output of ${item.name}.` };
  const text = userText(last);
  const tool = chooseTool(text, params, session);
  if (tool?.name)
    return {
      kind: "function_call",
      name: tool.name,
      arguments: JSON.stringify(fillArguments(tool, text)),
    };
  if (RECALL.test(text)) {
    const earlier = context
      .slice(0, context.indexOf(last))
      .findLast((s) => s.item.type === "message" && s.item.role === "user");
    return {
      kind: "message",
      text: earlier
        ? `Earlier you said: "${userText(earlier)}"`
        : "You had not said anything before.",
    };
  }
  return { kind: "message", text: `You said: "${text}"` };
}

/** A user message that asks the stand-in to recall the conversation. */
const RECALL = /\bwhat did i (?:just )?say\b/i;

/** The response's own `tools`/`tool_choice` take precedence over the session's. */
function chooseTool(
  text: string,
  params: RealtimeResponseCreateParams,
  session: Session,
): RealtimeFunctionTool | undefined {
  const declared = params.tools
    ? params.tools.filter((t): t is RealtimeFunctionTool => t.type !== "mcp")
    : functionTools(session);
  const choice = params.tool_choice ?? session.tool_choice ?? "auto";
  if (declared.length === 0 || choice === "none") return undefined;
  if (typeof choice === "object")
    return choice.type === "function" ? declared.find((t) => t.name === choice.name) : undefined;
  const mentioned = declared.find((t) => t.name !== undefined && mentions(text, t.name));
  return mentioned ?? (choice === "required" ? declared[0] : undefined);
}

function userText(stored: StoredItem): string {
  return stored.item.type === "message" || stored.spokenText !== undefined ? itemText(stored) : "";
}

/** A tool is mentioned when its name appears, case-insensitively, with `_`/`-` read as spaces or not. */
export function mentions(text: string, toolName: string): boolean {
  const haystack = text.toLowerCase();
  const name = toolName.toLowerCase();
  return haystack.includes(name) || haystack.includes(name.replace(/[_-]+/g, " "));
}

/**
 * Deterministic arguments from the tool's JSON schema: string properties get the user's
 * words (or the first enum value), numbers 0, booleans true; anything else is left out.
 */
export function fillArguments(tool: RealtimeFunctionTool, text: string): Record<string, unknown> {
  const schema = tool.parameters as
    { properties?: Record<string, { type?: unknown; enum?: unknown[] }> } | undefined;
  const args: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema?.properties ?? {})) {
    if (Array.isArray(property.enum) && property.enum.length > 0) args[name] = property.enum[0];
    else if (property.type === "string") args[name] = text;
    else if (property.type === "number" || property.type === "integer") args[name] = 0;
    else if (property.type === "boolean") args[name] = true;
  }
  return args;
}
