#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=100
// A small young generation: under load the default one grew the server's peak RSS by 30 MB for no measurable speed.
// The old generation grows to twice what a full collection leaves (V8 chooses up to four times): the mixed soak's
// peak RSS 276 -> 212 MB for about 5 % more CPU per session check (BENCHMARKS.md). The flags are part of the code
// cache's key: started as `node bin/authsome.js`, the program runs without them and compiles without the build's cache.
import { runBundle } from "./bundle-loader.js"

if (!runBundle()) {
  console.error("authsome: the program is not built (dist/authsome.cjs is missing); run `npm run build` (npm ci does)")
  process.exitCode = 1
}
