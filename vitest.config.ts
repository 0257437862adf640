import { defineConfig } from "vitest/config";

// Unit suites only: no emulator, no browser. Integration and end-to-end suites have their own configs.
export default defineConfig({
  test: {
    projects: [
      "contract/vitest.config.ts",
      "functions/vitest.config.mts",
      "standin/vitest.config.ts",
      "web/vitest.config.ts",
    ],
  },
});
