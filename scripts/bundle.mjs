// Bundles the command line (`bin/authsome.js`) into one tree-shaken module, `dist/authsome.mjs`: loading Effect's
// barrels module by module costs seconds of start-up; the bundle loads in a fraction of that. Native and wasm
// packages stay external.
import { build } from "esbuild"

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/authsome.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: false,
  external: ["@node-rs/argon2", "@electric-sql/pglite", "pg-native", "nodemailer"],
  // Bundled CommonJS dependencies (pg) call `require` for Node built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: "warning",
})
