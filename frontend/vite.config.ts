/// <reference types="vitest/config" />
// Vite builds the web app into dist/ (served by the API at /); in development `npm run dev` serves it
// on :5173 and forwards API calls to the API on 127.0.0.1:8000, so the app always calls its own origin.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const API = "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: {
      "/api": API,
      "/v1": API,
      "/healthz": API,
      "/readyz": API,
      "/openapi.json": API,
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The API sends a CSP with script-src 'self': everything must be a file, never inline.
    assetsInlineLimit: 0,
    target: "es2022",
  },
  test: {
    include: ["src/**/*.test.{ts,tsx}"],
    environment: "node",
    restoreMocks: true,
    // A hang guard, not a speed check: on a loaded 2-core machine a page test that renders,
    // pages and re-renders took over the 5 s default.
    testTimeout: 20_000,
  },
});
