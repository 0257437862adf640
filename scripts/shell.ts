/** Quotes one argument for `sh -c` (and for `firebase emulators:exec`, which uses a shell). */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
