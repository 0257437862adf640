/**
 * Removes anything shaped like an OpenAI key or client secret. OpenAI's own 401 message quotes
 * part of the key it refused, so upstream text is never logged without this.
 */
export function redactCredentials(text: string): string {
  return text.replace(/\b(?:sk|ek|rk)[-_][\w*.-]*/g, "[redacted]");
}

/**
 * Removes SDP from text bound for a log or an error message: from the first line that starts a
 * description (`v=`, `o=`, `m=`) to the end, and any stray candidate, ICE credential, DTLS
 * fingerprint or bundle line. An upstream error may quote the offer it refused, and a
 * description's ICE password and fingerprint are what a peer needs to join it.
 */
export function redactSdp(text: string): string {
  return text
    .replace(/(?:v=0|\bo=\S|\bm=(?:audio|video|application))[\s\S]*/, "[sdp redacted]")
    .replace(/\ba=(?:candidate|fingerprint|ice-|setup|group|mid)[^\r\n"]*/g, "[sdp redacted]");
}

/** Bounds text bound for a log or an error message to `max` characters (and an ellipsis). */
export function clip(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
