import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The tests use @lanyard/client from its sources, so they need no build.
export default defineConfig({
  resolve: {
    alias: { "@lanyard/client": fileURLToPath(new URL("../client/src/index.ts", import.meta.url)) },
  },
  oxc: { jsx: { runtime: "automatic" } },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.{ts,tsx}"],
  },
});
