import type { VoiceApi } from "voice-contract";
import type { ConversationEntry } from "../realtime";

/**
 * Whether the empty conversation shows its hint ("Press Connect and say hello"): before a
 * call only. Once anything was said it is gone, and during a call there is no Connect to press.
 */
export function showsHint(entries: number, inCall: boolean): boolean {
  return entries === 0 && !inCall;
}

/**
 * Renders the conversation log into an `<ol role="log">`. Entries are only ever appended or
 * updated in place, so the n-th list item always shows the n-th entry; updating text in
 * place keeps screen readers from re-announcing whole turns on every delta.
 */
export class TranscriptView {
  readonly #list: HTMLOListElement;
  readonly #empty: HTMLElement;
  #entries = 0;
  #inCall = false;

  constructor(list: HTMLOListElement, empty: HTMLElement) {
    this.#list = list;
    this.#empty = empty;
  }

  /** The hint names typing only where the page's calls take typed text (Realtime). */
  showHintFor(api: VoiceApi): void {
    this.#empty.textContent =
      api === "realtime"
        ? "Press Connect and say hello, or type below."
        : "Press Connect and say hello.";
  }

  /** A call is on its way, running or being reopened: the hint to press Connect goes. */
  setInCall(inCall: boolean): void {
    this.#inCall = inCall;
    this.#empty.hidden = !showsHint(this.#entries, inCall);
  }

  render(entries: readonly ConversationEntry[]): void {
    const stick = this.#nearBottom();
    entries.forEach((entry, index) => {
      let item = this.#list.children[index];
      if (!(item instanceof HTMLLIElement)) {
        item = document.createElement("li");
        this.#list.append(item);
      }
      renderEntry(item as HTMLLIElement, entry);
    });
    while (this.#list.children.length > entries.length) this.#list.lastElementChild?.remove();
    this.#entries = entries.length;
    this.#empty.hidden = !showsHint(entries.length, this.#inCall);
    // While the assistant is still speaking a turn, hold announcements until it is complete.
    const streaming = entries.some((e) => e.kind === "assistant" && e.status === "in_progress");
    this.#list.setAttribute("aria-busy", String(streaming));
    if (stick) this.#list.scrollTop = this.#list.scrollHeight;
  }

  #nearBottom(): boolean {
    const list = this.#list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 48;
  }
}

const SPEAKER: Record<ConversationEntry["kind"], string> = {
  user: "You",
  assistant: "Assistant",
  tool: "Tool",
};

function renderEntry(item: HTMLLIElement, entry: ConversationEntry): void {
  const key = `${entry.kind}:${entry.id}`;
  if (item.dataset.key !== key) {
    item.dataset.key = key;
    item.dataset.testid = "transcript-entry";
    item.className = `turn turn-${entry.kind}`;
    item.replaceChildren(
      el("span", "turn-speaker", SPEAKER[entry.kind]),
      el("p", "turn-text", ""),
      el("span", "turn-tag", ""),
    );
  }
  item.dataset.role = entry.kind;
  item.dataset.status = entry.status;
  item.dataset.itemId = entry.id;
  if (entry.kind === "user") item.dataset.source = entry.source;

  const [, text, tag] = item.children;
  if (!(text instanceof HTMLElement) || !(tag instanceof HTMLElement)) return;
  setText(text, entryText(entry));
  const tagText = entryTag(entry);
  setText(tag, tagText);
  tag.hidden = tagText === "";
}

function entryText(entry: ConversationEntry): string {
  switch (entry.kind) {
    case "user":
      if (entry.text) return entry.text;
      if (entry.status === "failed") return "(your words could not be transcribed)";
      return entry.status === "done" ? "(voice message)" : "…";
    case "assistant":
      return entry.text || "…";
    case "tool": {
      const call = `${entry.name}(${entry.arguments || ""})`;
      return entry.output === undefined ? call : `${call} → ${entry.output}`;
    }
  }
}

function entryTag(entry: ConversationEntry): string {
  if (entry.kind === "assistant" && entry.status === "interrupted") return "interrupted";
  if (entry.kind === "user" && entry.status === "sending") return "sending…";
  if (entry.kind === "user" && entry.status === "not-delivered") return "not delivered";
  if (entry.kind === "tool") {
    return entry.status === "running" ? "running" : entry.status === "error" ? "failed" : "done";
  }
  return "";
}

function el(tag: string, className: string, text: string): HTMLElement {
  const element = document.createElement(tag);
  element.className = className;
  element.textContent = text;
  return element;
}

function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}
