/**
 * Removes anything shaped like an OpenAI key or client secret. OpenAI's own 401 message quotes
 * part of the key it refused, so upstream text is never logged without this.
 */
export function redactCredentials(text: string): string {
  return text.replace(/\b(?:sk|ek|rk)[-_][\w*.-]*/g, "[redacted]");
}
