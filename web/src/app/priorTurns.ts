/*
 * What a reconnected GPT-Live call is told of the conversation so far: the transcripts the
 * page showed, newest kept, within the server's bounds. Pure.
 */
import { MAX_PRIOR_CHARS, MAX_PRIOR_TURNS, type PriorTurn } from "voice-contract";
import type { ConversationEntry } from "../realtime";

/** The bounds {@link priorTurnsOf} keeps to; the contract's by default. */
export interface PriorTurnLimits {
  turns: number;
  chars: number;
}

/**
 * The spoken turns of `entries` (settled ones: the reconnector passes only those) as
 * {@link PriorTurn}s, oldest first: at most `limits.turns` of them and `limits.chars`
 * characters in all, the newest kept. Empty transcripts and tool calls are left out. A turn
 * too long for the characters left ends the list there (older turns are not skipped over it,
 * so the context has no hole), except that the newest turn alone is cut to its last
 * characters rather than dropped.
 */
export function priorTurnsOf(
  entries: readonly ConversationEntry[],
  limits: PriorTurnLimits = { turns: MAX_PRIOR_TURNS, chars: MAX_PRIOR_CHARS },
): PriorTurn[] {
  const kept: PriorTurn[] = [];
  let chars = 0;
  for (let i = entries.length - 1; i >= 0 && kept.length < limits.turns; i--) {
    const entry = entries[i];
    if (!entry || entry.kind === "tool") continue;
    const text = entry.text.trim();
    if (text === "") continue;
    const left = limits.chars - chars;
    if (text.length > left) {
      if (kept.length === 0 && left > 0) kept.push({ role: entry.kind, text: text.slice(-left) });
      break;
    }
    kept.push({ role: entry.kind, text });
    chars += text.length;
  }
  return kept.reverse();
}
