import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

export default defineConfig({
  // The package's public names resolve to its sources in tests (examples import them like an outside project).
  resolve: {
    alias: [
      { find: /^authsome-ts$/, replacement: src("index.ts") },
      { find: /^authsome-ts\/plugin$/, replacement: src("plugin/index.ts") },
      { find: /^authsome-ts\/(postgres|memory)$/, replacement: src("$1.ts") },
      { find: /^authsome-ts\/([a-z-]+)$/, replacement: src("plugins/$1/index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    // The built package (test/build-setup.ts) and the PostgreSQL server of the tests: the configured one, or an
    // embedded one it starts (test/global-setup.ts).
    globalSetup: ["test/build-setup.ts", "test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
})
