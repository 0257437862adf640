/**
 * The one shape of a bad setting: which param, and what is wrong with its value. The
 * pipeline logs both and answers the caller only that the service is misconfigured.
 */

/** A param holds a value the function cannot work with. */
export class ConfigError<P extends string = string> extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly param: P,
    message: string,
  ) {
    super(`${param}: ${message}`);
  }
}
