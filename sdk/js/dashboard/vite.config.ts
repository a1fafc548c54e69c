import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The dashboard app, built into dashboard/web/dist and embedded in the Go
// binary (package dashboard/web). @lanyard/client and @lanyard/react come
// from their sources, so the app needs no build of them first. `npm run dev`
// proxies the API paths to a dashboard on :4000 (LANYARD_DEV_PROXY).
const dashboard = process.env.LANYARD_DEV_PROXY || "http://localhost:4000";

export default defineConfig({
  root: here("."),
  resolve: {
    alias: {
      "@lanyard/client": here("../client/src/index.ts"),
      "@lanyard/react/styles.css": here("../react/src/styles.css"),
      "@lanyard/react": here("../react/src/index.ts"),
    },
  },
  oxc: { jsx: { runtime: "automatic" } },
  server: {
    proxy: Object.fromEntries(["/api", "/self-service", "/sessions", "/schemas"].map((p) => [p, { target: dashboard, changeOrigin: false }])),
  },
  build: {
    outDir: here("../../../dashboard/web/dist"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
  },
});
