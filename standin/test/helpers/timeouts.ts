/**
 * Time limits of the tests that run on real time: loopback sockets, werift peers, child
 * processes and wall-clock waits. vitest's defaults (5 s a test, 10 s a hook) were exceeded by
 * two of them on a loaded 2-core machine; these hold there. Tests of pure modules keep the
 * defaults (they take milliseconds), and so do the event-driven waits inside a test
 * (`until`, `TestClient.waitFor`), which fail with what they waited for.
 */

/**
 * A test that connects werift peers, starts a child process (tsx alone takes seconds to load
 * under load) or sleeps on the wall clock.
 */
export const REAL_TIME = { timeout: 30_000 } as const;

/** A hook that starts, resets or stops a stand-in on real sockets. */
export const HOOK_MS = 30_000;
