/**
 * What a budget tells the reservation engine (reservations.ts), and nothing else: its pure rule
 * over the user's document. A budget (mints in policy.ts, voice minutes in minutes.ts) decides
 * from the state it reads and `now`; the engine reads, writes, guards and retries.
 *
 * Counts change by increments only ({@link Tally}): nothing a rule returns is written back over
 * a count read earlier, so a refund can never erase a concurrent reservation.
 */

/** Plain fields of a stored document, as a rule reads them. */
export type Fields = Readonly<Record<string, unknown>>;

/** Plain fields to write into a document (a record type, or any object of fields). */
export type Writes = object;

/** Field → amount added to it (negative: a refund). */
export type Tally = Readonly<Record<string, number>>;

/** How a reservation or a settlement changes the user's document. */
export interface UserChange {
  /** Plain values written over the fields named. */
  set?: Writes;
  /** Counters changed by increments. */
  add?: Tally;
}

/** A refusal: the limit that refused and when to try again. */
export interface Refusal<Reason extends string = string> {
  reason: Reason;
  retryAfterSeconds: number;
}

/** What a rule decided for one reservation from the state it read. */
export type RuleDecision<Grant, Refused extends Refusal> =
  | {
      ok: true;
      /** The next sequence number: the id of the record the reservation `create()`s. */
      seq: number;
      /** The record's own fields (the engine adds its claim, network, times and TTL). */
      record: Writes;
      /** What the reservation changes in the user's document (the engine adds `seq`). */
      user: UserChange;
      /** What the caller is told besides the reservation itself. */
      grant: Grant;
    }
  | ({ ok: false } & Refused);

/**
 * A budget's rule, pure: `now` is an argument. `State` carries at least the user's sequence
 * (`seq`, the highest record id taken), which the engine raises when it repairs a user document
 * that fell behind its records.
 */
export interface ReservationRule<State extends { seq: number }, Grant, Refused extends Refusal> {
  /**
   * The user's document as of `nowMs`, read defensively: a missing, hand-edited or older
   * document reads as what a fresh one would say, never as an error.
   */
  read(data: Fields, nowMs: number): State;
  decide(state: State, nowMs: number): RuleDecision<Grant, Refused>;
}

/** A non-negative safe integer, or undefined for anything else a document might hold. */
export function wholeNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** A finite number, or undefined. */
export function finiteNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/**
 * What a counter field holds, read defensively: a whole number of at least 0 (refunds may
 * briefly take a counter below zero; a hand-edited value that is no integer counts as 0).
 */
export function counterValue(value: unknown): number {
  return typeof value === "number" && Number.isSafeInteger(value) ? Math.max(0, value) : 0;
}
