/**
 * The DTLS records werift puts on the wire, read from a real call: every record of an epoch
 * has its own sequence number. werift's own DTLS does not check (so a werift client never
 * notices), but Chromium's drops a repeated one as a replay; see src/werift-dtls.ts.
 */
import { RTCDtlsTransport } from "werift";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStandin, type Standin } from "../src/server.js";
import { fixWeriftDtlsSequenceNumbers } from "../src/werift-dtls.js";
import { TestClient, mintSecret } from "./helpers/client.js";
import { HOOK_MS, REAL_TIME } from "./helpers/timeouts.js";

/** `epoch:sequence` of every record each DTLS socket sent, one list per socket. */
const sent: string[][] = [];
let standin: Standin;

beforeAll(async () => {
  // Loading the server applies the correction; record what the corrected start() sends.
  standin = await startStandin();
  const proto = RTCDtlsTransport.prototype as unknown as {
    start: (this: { dtls?: unknown }) => Promise<void>;
  };
  const start = proto.start;
  proto.start = function (this: { dtls?: unknown }) {
    const started = start.call(this);
    const socket = this.dtls as { transport: { send: (buf: Buffer, addr?: unknown) => unknown } };
    const records: string[] = [];
    sent.push(records);
    const send = socket.transport.send;
    socket.transport.send = (buf, addr) => {
      records.push(...recordNumbers(buf));
      return send(buf, addr);
    };
    return started;
  };
  return () => {
    proto.start = start;
  };
}, HOOK_MS);

afterAll(async () => {
  await standin.close();
}, HOOK_MS);

/** The (epoch, sequence number) of each DTLS record in a datagram (RFC 6347 §4.1 header). */
function recordNumbers(datagram: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at + 13 <= datagram.length; at += 13 + datagram.readUInt16BE(at + 11))
    out.push(`${datagram.readUInt16BE(at + 3)}:${datagram.readUIntBE(at + 5, 6)}`);
  return out;
}

describe("werift's DTLS record numbers", REAL_TIME, () => {
  it("the correction is installed once and reports werift's shape as known", () => {
    expect(fixWeriftDtlsSequenceNumbers()).toBe(true);
  });

  it("never repeat within an epoch, through the handshake and the first messages", async () => {
    const client = await TestClient.connect(standin.baseUrl, await mintSecret(standin.baseUrl));
    try {
      for (let i = 0; i < 4; i++) {
        client.send({
          type: "session.update",
          session: { type: "realtime", instructions: `${i}` },
        });
        await client.waitFor("session.updated");
      }
    } finally {
      await client.close();
    }
    // Both ends are werift here: the stand-in's side and the test client's.
    expect(sent).toHaveLength(2);
    for (const records of sent) {
      expect(records.filter((r) => r.startsWith("1:")).length).toBeGreaterThan(8);
      const repeated = records.filter((r, i) => records.indexOf(r) !== i);
      expect(repeated).toEqual([]);
    }
  });
});
