/** Compile-time helpers that tie the stand-in's runtime lists to the `openai` types. */

/** The string literals of a union, without the `(string & {})` escape hatch the SDK adds. */
export type Literals<T> = T extends string ? (string extends T ? never : T) : never;

/** `NonNullable` would fold `(string & {}) | "a"` into plain `string`; `Exclude` keeps the literals. */
export type Defined<T> = Exclude<T, undefined | null>;

/**
 * Lists every member of the string union `T`, checked at compile time in both directions:
 * a value `T` lacks is rejected, and when the SDK adds a member (a model, a voice, an event
 * type) the call stops compiling until it is listed here. The list keeps its literal type.
 */
export function allMembers<T extends string>() {
  return <const L extends readonly T[]>(
    members: L &
      ([Exclude<T, L[number]>] extends [never]
        ? unknown
        : { missingMembers: Exclude<T, L[number]> }),
  ): L => members;
}

/**
 * Lists every key of `T`, checked at compile time in both directions: a key `T` lacks is
 * rejected, and when the SDK adds a key the call stops compiling until it is listed here.
 * Strict validators use these lists to answer `unknown_parameter` like upstream.
 */
export function allKeys<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    keys: K &
      ([Exclude<keyof T, K[number]>] extends [never]
        ? unknown
        : { missingKeys: Exclude<keyof T, K[number]> }),
  ): readonly string[] => keys;
}
