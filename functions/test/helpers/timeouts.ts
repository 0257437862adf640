/**
 * Time limits of the tests that run on real time: the Firestore stand-in, the OpenAI stand-in
 * and small HTTP servers on loopback sockets, the Admin SDK's real clients, wall-clock
 * deadlines. vitest's defaults (5 s a test, 10 s a hook) leave too little room on a loaded
 * 2-core machine (a 20-way reservation burst took 3 s there); these hold there. Tests of pure
 * modules on fakes keep the defaults (they take milliseconds).
 */

/** A describe or test whose work goes through real sockets or waits on the wall clock. */
export const REAL_TIME = { timeout: 30_000 } as const;

/** A hook that starts or stops a server on real sockets. */
export const HOOK_MS = 30_000;

/**
 * The store's Firestore deadline in the tests that send 20–30 transactions at once. What they
 * check is exactness, and the production deadline (5 s) was exceeded there on a loaded 2-core
 * machine, so some answered `unavailable` for that reason alone. The deadline's own tests pass
 * 300 ms. Below {@link REAL_TIME}'s limit, so a store that hangs still fails as itself.
 */
export const BURST_DEADLINE_MS = 20_000;
