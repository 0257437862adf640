// One flat config for every workspace; Prettier owns formatting.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/lib/**", "**/dist/**", "**/coverage/**", ".bench/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-console": "off",
    },
  },
  {
    files: ["web/src/**/*.ts"],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // realtime/index.ts and backend/index.ts are the folders' public surface: the rest of the
    // app, each other included, reaches their modules only through them. backend/functions.ts
    // is the one exception: the callables, apart so that first paint does not load their SDK.
    files: ["web/src/**/*.ts"],
    ignores: ["web/src/realtime/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/realtime/*", "**/backend/*", "!**/backend/functions"],
              message: "Import from the folder (its index.ts), not from its modules.",
            },
          ],
        },
      ],
    },
  },
  prettier,
);
