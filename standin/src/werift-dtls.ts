/**
 * A runtime correction of werift's DTLS record numbering, applied once when the stand-in loads.
 *
 * werift (0.25) sends its Finished message as the first record of epoch 1, but numbers it with
 * the next sequence number of epoch 0 (e.g. 6), then restarts the counter at 0 for the
 * application data that follows. So one later record of epoch 1 — the sixth or so after the
 * handshake — carries the Finished's (epoch, sequence number) again. Chromium's DTLS (BoringSSL)
 * keeps a replay window and silently drops that record. On a call it is the SCTP packet of the
 * third DATA chunk werift sends (after `session.created` and the data channel's DCEP ACK): most
 * often the answer to the client's first message, which then waits for SCTP's retransmission
 * timer, about a second; every later message takes a millisecond or two. werift's own DTLS has
 * no replay window, which is why werift clients (the stand-in's own tests) never saw it.
 *
 * The correction keeps the counter running through the epoch change instead of restarting it,
 * so application data continues after the Finished's number. Sequence numbers only need to be
 * unique within an epoch and never reused (RFC 6347 §4.1), so this is valid DTLS, and it leaves
 * the handshake itself byte for byte as werift sends it.
 *
 * It wraps `RTCDtlsTransport.prototype.start` (the one exported class on the path) and guards
 * the `DtlsContext` of each socket that start creates, including the fresh context werift
 * makes on renegotiation. `standin/test/werift-dtls.test.ts` checks the numbering on the wire.
 */
import { RTCDtlsTransport } from "werift";

/** The part of werift's `DtlsContext` the correction touches. */
interface DtlsContextLike {
  epoch: number;
  recordSequenceNumber: number;
}

/** The part of werift's `DtlsSocket` (`RTCDtlsTransport.dtls`) the correction touches. */
interface DtlsSocketLike {
  dtls: DtlsContextLike;
}

const GUARDED = Symbol("standin.dtlsSequenceGuard");
let applied = false;

/**
 * Installs the correction (idempotent). Returns false, changing nothing, when werift's shape
 * is not the one this was written for (then a werift upgrade has to be checked by hand).
 */
export function fixWeriftDtlsSequenceNumbers(): boolean {
  if (applied) return true;
  const proto = RTCDtlsTransport.prototype as unknown as {
    start?: (this: { dtls?: unknown }) => Promise<void>;
  };
  const start = proto.start;
  if (typeof start !== "function") return false;
  proto.start = function (this: { dtls?: unknown }) {
    const started = start.call(this);
    // start() creates its DtlsSocket synchronously, before its first await.
    if (isSocket(this.dtls)) guardSocket(this.dtls);
    return started;
  };
  applied = true;
  return true;
}

function isSocket(value: unknown): value is DtlsSocketLike {
  return (
    typeof value === "object" &&
    value !== null &&
    "dtls" in value &&
    isContext((value as { dtls: unknown }).dtls)
  );
}

function isContext(value: unknown): value is DtlsContextLike {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as DtlsContextLike).epoch === "number" &&
    typeof (value as DtlsContextLike).recordSequenceNumber === "number"
  );
}

/** Guards the socket's context now and every context werift assigns it later. */
function guardSocket(socket: DtlsSocketLike): void {
  if ((socket as unknown as Record<symbol, boolean>)[GUARDED]) return;
  let context = guardContext(socket.dtls);
  Object.defineProperty(socket, "dtls", {
    configurable: true,
    enumerable: true,
    get: () => context,
    set: (next: DtlsContextLike) => {
      context = isContext(next) ? guardContext(next) : next;
    },
  });
  Object.defineProperty(socket, GUARDED, { value: true });
}

/** Ignores the reset to 0 that follows the Finished record of an epoch after the first. */
function guardContext(context: DtlsContextLike): DtlsContextLike {
  let sequence = context.recordSequenceNumber;
  Object.defineProperty(context, "recordSequenceNumber", {
    configurable: true,
    enumerable: true,
    get: () => sequence,
    set: (next: number) => {
      if (next === 0 && context.epoch > 0 && sequence > 0) return;
      sequence = next;
    },
  });
  return context;
}
