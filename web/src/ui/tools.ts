import type { RealtimeTool } from "../realtime";

/** What `get_local_time` returns to the model. */
export interface LocalTime {
  timeZone: string;
  localTime: string;
  iso: string;
}

/**
 * The demo tool: the user's local date and time, which the model cannot know by itself.
 * It takes no arguments, so there is nothing from the model to validate. `now` and
 * `timeZone` are injectable for tests.
 */
export function createLocalTimeTool(
  now: () => Date = () => new Date(),
  timeZone: () => string = () => Intl.DateTimeFormat().resolvedOptions().timeZone,
): RealtimeTool {
  return {
    name: "get_local_time",
    description:
      "Returns the user's current local date, time and time zone from their device. " +
      "Use it whenever the user asks about the time, the date or the day of the week.",
    parameters: { type: "object", properties: {}, additionalProperties: false },
    handler: () => localTime(now(), timeZone()),
  };
}

/** Formats `date` for the model in `timeZone`. */
export function localTime(date: Date, timeZone: string): LocalTime {
  const localTime = new Intl.DateTimeFormat("en-US", {
    dateStyle: "full",
    timeStyle: "long",
    timeZone,
  }).format(date);
  return { timeZone, localTime, iso: date.toISOString() };
}
