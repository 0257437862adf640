/**
 * Checks a browser's SDP offer before the server posts it upstream with its own key. Pure.
 *
 * This is a shape check, not a parser: it makes sure that what is posted is a bounded WebRTC
 * offer with what a Realtime call needs (an audio section, the `oai-events` data channel's
 * SCTP section, ICE credentials and a DTLS fingerprint), so that garbage, answers and
 * oversized bodies are refused with a message naming the problem instead of costing an
 * upstream request. The offer is passed on verbatim (upstream is picky about its line ends).
 */

/** The largest offer accepted. Chromium's offer with audio and a data channel is about 2 KiB. */
export const MAX_OFFER_BYTES = 16 * 1024;
/** More media sections than a voice call could need. */
const MAX_SECTIONS = 8;

/** What is wrong with an offer. */
export type OfferProblem =
  | "not-a-string"
  | "empty"
  | "too-large"
  | "bad-characters"
  | "not-sdp"
  | "too-many-sections"
  | "no-audio"
  | "no-audio-codec"
  | "no-data-channel"
  | "not-an-offer"
  | "no-ice-credentials"
  | "no-fingerprint";

export type OfferCheck =
  { ok: true; sdp: string } | { ok: false; problem: OfferProblem; message: string };

const fail = (problem: OfferProblem, message: string): OfferCheck => ({
  ok: false,
  problem,
  message,
});

/** Checks `input` as a WebRTC SDP offer for a Realtime call. */
export function checkOffer(input: unknown): OfferCheck {
  if (typeof input !== "string")
    return fail("not-a-string", "The offer must be the SDP text of an RTCSessionDescription.");
  if (input.trim() === "") return fail("empty", "The offer is empty.");
  const bytes = Buffer.byteLength(input, "utf8");
  if (bytes > MAX_OFFER_BYTES)
    return fail(
      "too-large",
      `The offer is ${bytes} bytes; at most ${MAX_OFFER_BYTES} are accepted. Offer one audio ` +
        "track and one data channel only.",
    );
  // Browser offers are ASCII with CRLF (or LF) line ends; anything else is not theirs.
  if (/[^\x20-\x7e\r\n\t]/.test(input))
    return fail("bad-characters", "The offer contains characters that SDP does not allow.");

  const lines = input.split(/\r?\n/);
  if (lines[0] !== "v=0")
    return fail("not-sdp", "The offer is not SDP: it must start with the line v=0.");
  if (!lines.some((l) => l.startsWith("o=")))
    return fail("not-sdp", "The offer is not SDP: it has no origin (o=) line.");

  const sections = splitSections(lines);
  if (sections.length > MAX_SECTIONS)
    return fail(
      "too-many-sections",
      `The offer has ${sections.length} media sections; a voice call needs two (audio and data).`,
    );
  const audio = sections.find((s) => /^m=audio \d+ [A-Z/]*RTP\/S?AVPF?(?: |$)/.test(s.mLine));
  if (!audio)
    return fail(
      "no-audio",
      "The offer has no audio section (m=audio). Add the microphone track before creating it.",
    );
  if (!hasUsableCodec(audio))
    return fail(
      "no-audio-codec",
      "The offer's audio section (m=audio) lists no codec a call can use: it needs at least one " +
        "payload type, static (0–95) or dynamic (96–127) with its a=rtpmap line. Send the offer " +
        "as the browser created it, without removing codecs.",
    );
  const data = sections.find((s) =>
    /^m=application \d+ (?:UDP\/DTLS\/SCTP|DTLS\/SCTP|TCP\/DTLS\/SCTP) webrtc-datachannel$/.test(
      s.mLine.trimEnd(),
    ),
  );
  if (!data)
    return fail(
      "no-data-channel",
      "The offer has no data channel section (m=application … webrtc-datachannel). Create the " +
        '"oai-events" data channel before creating the offer.',
    );

  const session = lines.slice(
    0,
    lines.findIndex((l) => l.startsWith("m=")),
  );
  for (const section of [audio, data]) {
    const kind = section === audio ? "audio" : "data channel";
    const attr = (name: string) => attribute(section.lines, name) ?? attribute(session, name);
    const setup = attr("setup");
    if (setup !== undefined && setup !== "actpass")
      return fail(
        "not-an-offer",
        `The ${kind} section says a=setup:${setup}: this is an answer, not an offer. Send ` +
          "the local description of a peer connection that created an offer.",
      );
    if (attr("ice-ufrag") === undefined || attr("ice-pwd") === undefined)
      return fail(
        "no-ice-credentials",
        `The ${kind} section has no ICE credentials (a=ice-ufrag and a=ice-pwd).`,
      );
    if (attr("fingerprint") === undefined)
      return fail("no-fingerprint", `The ${kind} section has no DTLS fingerprint (a=fingerprint).`);
  }
  return { ok: true, sdp: input };
}

interface Section {
  mLine: string;
  lines: string[];
}

function splitSections(lines: string[]): Section[] {
  const sections: Section[] = [];
  for (const line of lines) {
    if (line.startsWith("m=")) sections.push({ mLine: line, lines: [] });
    else sections.at(-1)?.lines.push(line);
  }
  return sections;
}

/**
 * Whether an audio m-line lists a payload type upstream can negotiate: without one, upstream
 * refuses the offer (400 `invalid_offer`) or answers with the audio section disabled, after
 * the caller's minutes were reserved for it.
 */
function hasUsableCodec(audio: Section): boolean {
  const formats = audio.mLine.trim().split(/ +/).slice(3);
  const mapped = new Set(
    audio.lines.flatMap((line) => /^a=rtpmap:(\d+) \S/.exec(line)?.slice(1, 2) ?? []),
  );
  return formats.some((format) => {
    if (!/^\d{1,3}$/.test(format)) return false;
    const type = Number(format);
    return type < 96 || (type <= 127 && mapped.has(format));
  });
}

/** The value of the first `a=name:value` (or bare `a=name`, as "") line, if any. */
function attribute(lines: string[], name: string): string | undefined {
  for (const line of lines) {
    if (line === `a=${name}`) return "";
    if (line.startsWith(`a=${name}:`)) return line.slice(name.length + 3).trim();
  }
  return undefined;
}
