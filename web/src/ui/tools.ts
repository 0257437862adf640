import type { RealtimeTool } from "../realtime/types";

/** What `get_local_time` returns to the model. */
export interface LocalTime {
  timeZone: string;
  localTime: string;
  iso: string;
}

/**
 * The demo tool: the user's local date and time, which the model cannot know by itself.
 * `now` is injectable for tests.
 */
export function createLocalTimeTool(now: () => Date = () => new Date()): RealtimeTool<unknown> {
  return {
    name: "get_local_time",
    description:
      "Returns the user's current local date, time and time zone from their device. " +
      "Use it whenever the user asks about the time, the date or the day of the week.",
    parameters: {
      type: "object",
      properties: {
        timeZone: {
          type: "string",
          description: "An IANA time zone such as Europe/Paris. Omit it for the user's own.",
        },
      },
      additionalProperties: false,
    },
    handler(args) {
      const timeZone = readTimeZone(args);
      return localTime(now(), timeZone);
    },
  };
}

function readTimeZone(args: unknown): string | undefined {
  if (typeof args !== "object" || args === null) return undefined;
  const value = (args as { timeZone?: unknown }).timeZone;
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new Error("timeZone must be a string.");
  return value;
}

/** Formats `date` in `timeZone` (the device's own when omitted); throws on an unknown zone. */
export function localTime(date: Date, timeZone?: string): LocalTime {
  const zone = timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  let formatted: string;
  try {
    formatted = new Intl.DateTimeFormat("en-US", {
      dateStyle: "full",
      timeStyle: "long",
      timeZone: zone,
    }).format(date);
  } catch {
    throw new Error(`Unknown time zone "${zone}".`);
  }
  return { timeZone: zone, localTime: formatted, iso: date.toISOString() };
}
