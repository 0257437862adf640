/*
 * The seam between a session and an event vocabulary. The session owns the transport and
 * the units (conversation, tools, responses, microphone); a protocol reads the transport's
 * messages into calls on those units and says what the session writes first. The OpenAI
 * Realtime vocabulary lives in `openai/`; another (GPT-Live's) goes beside it.
 */

/** One event vocabulary, as the session drives it. */
export interface SessionProtocol<ClientEvent extends { type: string }> {
  /** What to write as soon as the channel opens, before anything queued; null for nothing. */
  opening(): ClientEvent | null;
  /** Notes a client event on its way out (before it is written or queued). */
  sending(event: ClientEvent): void;
  /** Reads one message from the transport; never throws, whatever arrives. */
  receive(data: unknown): void;
  /** The session closed: forgets what was in flight. */
  close(): void;
}
