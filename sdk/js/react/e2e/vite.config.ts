import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The browser test's app: @lanyard/react and @lanyard/client from their
// sources. Vite's own transform handles the JSX (automatic runtime).
export default defineConfig({
  root: here("."),
  logLevel: "warn",
  resolve: {
    alias: {
      "@lanyard/client": here("../../client/src/index.ts"),
      "@lanyard/react/styles.css": here("../src/styles.css"),
      "@lanyard/react": here("../src/index.ts"),
    },
  },
  oxc: { jsx: { runtime: "automatic" } },
  build: { outDir: here("dist"), emptyOutDir: true, reportCompressedSize: false },
});
