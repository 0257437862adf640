import { describe, expect, it } from "vitest";
import { fillArguments, mentions } from "../src/script.js";

describe("script helpers", () => {
  it("matches tool names with underscores read as spaces", () => {
    expect(mentions("Please GET WEATHER now", "get_weather")).toBe(true);
    expect(mentions("get-weather", "get_weather")).toBe(false);
    expect(mentions("call get_weather", "get_weather")).toBe(true);
    expect(mentions("weather", "get_weather")).toBe(false);
  });

  it("fills arguments from the schema", () => {
    expect(
      fillArguments(
        {
          name: "t",
          parameters: {
            properties: {
              q: { type: "string" },
              n: { type: "integer" },
              b: { type: "boolean" },
              o: { type: "object" },
            },
          },
        },
        "hi",
      ),
    ).toEqual({ q: "hi", n: 0, b: true });
  });
});
