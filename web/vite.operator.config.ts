import { fileURLToPath } from "node:url";
import { defineConfig, mergeConfig } from "vite";
import voicePage from "./vite.config.ts";

/**
 * The operator's usage page (operator.html), built after the voice page into the same
 * directory. A build of its own rather than a second input of one build: two entries share
 * chunks, which split and grew the voice page's initial JS (measured 45.9 → 51.1 kB gzip);
 * apart, the voice page's bundle is what it was and only this page loads the chart library.
 */
export default mergeConfig(
  voicePage,
  defineConfig({
    build: {
      // The voice page's build emptied it; this one adds to it.
      emptyOutDir: false,
      manifest: ".vite/operator-manifest.json",
      rollupOptions: { input: fileURLToPath(new URL("operator.html", import.meta.url)) },
    },
  }),
);
