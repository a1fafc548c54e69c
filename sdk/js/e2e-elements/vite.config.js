import { defineConfig } from "vite";

// No @vitejs/plugin-react: Vite's own transform handles JSX (automatic
// runtime), which is all this page needs.
export default defineConfig({
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 16384,
    rolldownOptions: {
      onwarn(w, warn) {
        // "use client" directives of the React libraries: harmless in a bundle.
        if (w.code !== "MODULE_LEVEL_DIRECTIVE") warn(w);
      },
    },
  },
});
