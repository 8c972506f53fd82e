// Bundles the command line (`bin/authsome.js`) into one tree-shaken module, `dist/authsome.mjs`: loading Effect's
// barrels module by module costs seconds of start-up; the bundle loads in a fraction of that. What is imported only
// on first use (the WebAuthn library) goes to its own chunk in `dist/chunks/`, so start-up does not parse it.
// Native and wasm packages stay external.
import { readFile } from "node:fs/promises"
import { build } from "esbuild"

/**
 * `pg` checks at load whether it runs in a Cloudflare Worker by constructing a `Response`, which makes Node 20 load
 * its whole fetch implementation (undici, ~30 ms of every start-up). This bundle only runs on Node.
 */
const pgOnNode = {
  name: "pg-on-node",
  setup(build) {
    build.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8")
      const marker = "function isCloudflareRuntime() {"
      if (!source.includes(marker)) throw new Error(`${args.path}: isCloudflareRuntime not found (pg changed?)`)
      return { contents: source.replace(marker, `${marker}\n  return false`), loader: "js" }
    })
  },
}

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
  plugins: [pgOnNode],
  logLevel: "warning",
  // Less to parse at every start-up (about a tenth of it); names are kept, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
})
