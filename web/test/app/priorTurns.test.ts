import { MAX_PRIOR_CHARS, MAX_PRIOR_TURNS } from "voice-contract";
import { describe, expect, it } from "vitest";
import { priorTurnsOf } from "../../src/app/priorTurns";
import type { ConversationEntry } from "../../src/realtime/types";

const user = (text: string): ConversationEntry => ({
  kind: "user",
  id: `u_${text}`,
  source: "voice",
  text,
  status: "done",
});
const assistant = (text: string): ConversationEntry => ({
  kind: "assistant",
  id: `a_${text}`,
  text,
  status: "done",
});

describe("priorTurnsOf", () => {
  it("turns the transcripts into prior turns, oldest first, leaving out tools and empty text", () => {
    const tool: ConversationEntry = {
      kind: "tool",
      id: "call_1",
      name: "t",
      arguments: "{}",
      status: "done",
    };
    expect(priorTurnsOf([user(" Hi "), tool, assistant("Hello"), user("   ")])).toEqual([
      { role: "user", text: "Hi" },
      { role: "assistant", text: "Hello" },
    ]);
  });

  it("keeps the newest turns within the turn bound", () => {
    const entries = Array.from({ length: 10 }, (_, i) => user(`t${i}`));
    expect(priorTurnsOf(entries, { turns: 3, chars: 1000 }).map((t) => t.text)).toEqual([
      "t7",
      "t8",
      "t9",
    ]);
  });

  it("keeps the newest turns within the character bound, without a hole", () => {
    const entries = [user("aaaa"), user("bbbbbbbbbb"), user("cc"), assistant("ddd")];
    expect(priorTurnsOf(entries, { turns: 10, chars: 8 }).map((t) => t.text)).toEqual([
      "cc",
      "ddd",
    ]);
  });

  it("cuts a newest turn longer than the bound to its end rather than sending nothing", () => {
    expect(priorTurnsOf([user("older"), assistant("0123456789")], { turns: 10, chars: 4 })).toEqual(
      [{ role: "assistant", text: "6789" }],
    );
  });

  it("stays within the contract's bounds by default", () => {
    const long = "x".repeat(1000);
    const entries = Array.from({ length: 200 }, (_, i) => (i % 2 ? user(long) : assistant(long)));
    const turns = priorTurnsOf(entries);
    expect(turns.length).toBeLessThanOrEqual(MAX_PRIOR_TURNS);
    expect(turns.reduce((n, t) => n + t.text.length, 0)).toBeLessThanOrEqual(MAX_PRIOR_CHARS);
    expect(turns.at(-1)?.role).toBe("user");
  });
});
