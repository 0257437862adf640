/*
 * Who sees the way to the operator page. Apart from the page's own modules: the voice page
 * imports it, and nothing else of the operator page.
 */
import { ADMIN_CLAIM } from "voice-contract";

/**
 * Whether ID-token `claims` make their user an operator. Only hides or shows the way in: the
 * server checks the same claim on every `operatorUsage` call.
 */
export function isOperator(claims: Readonly<Record<string, unknown>>): boolean {
  return claims[ADMIN_CLAIM] === true;
}
