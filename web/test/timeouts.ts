/**
 * Time limits of the tests that run on real time: small HTTP servers on loopback sockets
 * answering the Firebase SDK, its own timeouts on the wall clock, dynamic imports that Vite
 * transforms on first use, and scans of a whole package's files. vitest's default (5 s a test) leaves too little room on a loaded
 * 2-core machine; this holds there. Tests on fakes and fake clocks keep the default.
 */

/** A describe or test on real sockets, the wall clock, a first import or a package's files. */
export const REAL_TIME = { timeout: 30_000 } as const;
