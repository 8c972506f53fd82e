// Bundles the command line (`bin/authsome.js`) into one tree-shaken module, `dist/authsome.mjs`: loading Effect's
// barrels module by module costs seconds of start-up; the bundle loads in a fraction of that. What is imported only
// on first use (the WebAuthn library) goes to its own chunk in `dist/chunks/`, so start-up does not parse it.
// Native and wasm packages stay external.
import { build } from "esbuild"

await build({
  entryPoints: [{ in: "src/cli.ts", out: "authsome" }],
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
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
