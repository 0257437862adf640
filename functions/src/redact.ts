/**
 * Removes anything shaped like an OpenAI key or client secret. OpenAI's own 401 message quotes
 * part of the key it refused, so upstream text is never logged without this.
 */
export function redactCredentials(text: string): string {
  return text.replace(/\b(?:sk|ek|rk)[-_][\w*.-]*/g, "[redacted]");
}

/**
 * Removes SDP from text bound for a log: from a description's `v=0` line to the end, and any
 * stray ICE credential or DTLS fingerprint line. An upstream error may quote the offer it
 * refused, and a description's ICE password and fingerprint are what a peer needs to join it.
 */
export function redactSdp(text: string): string {
  return text
    .replace(/v=0\r?\n[\s\S]*/, "[sdp redacted]")
    .replace(/a=(?:ice-pwd|ice-ufrag|fingerprint):[^\r\n"]*/g, "[sdp redacted]");
}
