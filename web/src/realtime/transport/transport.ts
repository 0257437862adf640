/*
 * The seam between a session and the wire its events travel on. A transport carries opaque
 * text messages and knows nothing of any event vocabulary; the protocol above it (e.g.
 * `protocol/openai/`) reads and writes them.
 */

/** What a transport reports to the session that owns it. */
export interface TransportHandlers {
  /** The event channel opened: messages may be sent from now on. */
  onOpen(): void;
  /** The event channel closed on its own (the server or the network closed it). */
  onClose(): void;
  /** One message arrived on the event channel, unread. */
  onMessage(data: unknown): void;
}

/**
 * An event channel to the model's server, whatever carries it: all a session needs of its
 * transport once connected. How it is opened is the transport's own (see `webrtc.ts`).
 */
export interface EventTransport {
  /** Whether a message sent now goes out. */
  readonly isOpen: boolean;
  /** The server's id of the call, once known. */
  readonly callId: string | null;
  /** The connection's statistics, or undefined when there is nothing to ask. */
  getStats(): Promise<ReadonlyMap<string, unknown>> | undefined;
  /** Writes one message; throws when the channel refuses it. */
  send(text: string): void;
  /** Closes the channel and everything beneath it. Safe to call again. */
  close(): void;
}
