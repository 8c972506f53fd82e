// Bundles the command line (`bin/authsome.js`) into one tree-shaken CommonJS script, `dist/authsome.cjs`: loading
// Effect's barrels module by module costs seconds of start-up; the bundle loads in a fraction of that, and as a script
// it can be compiled with V8's code cache (`bin/bundle-loader.js`), which Node 20 offers for no ES module. What is
// imported only on first use (the WebAuthn library, undici, the QR encoder) and native and wasm packages stay
// external: they load from `node_modules` when first needed, so start-up does not parse them.
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
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
  outExtension: { ".js": ".cjs" },
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  // `import()` of those becomes `require`: a script compiled by `vm` would need an experimental loader for `import()`.
  supported: { "dynamic-import": false },
  sourcemap: false,
  external: [
    "@node-rs/argon2",
    "@electric-sql/pglite",
    "pg-native",
    "nodemailer",
    "undici",
    "@simplewebauthn/server",
    "qrcode",
  ],
  // The modules that find files next to themselves (the common-password list, the hash workers' library).
  define: { "import.meta.url": "__authsome_bundle_url" },
  banner: { js: "const __authsome_bundle_url = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [pgOnNode],
  logLevel: "warning",
  // Less to parse at every start-up (about a tenth of it); names are kept, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
})

// The code cache depends on V8's flags: written by a Node started with the program's own (its shebang's).
const shebang = readFileSync(new URL("../bin/authsome.js", import.meta.url), "utf8").split("\n", 1)[0]
const flags = shebang.split(/\s+/).filter((word) => word.startsWith("--"))
execFileSync(
  process.execPath,
  [...flags, "--input-type=module", "-e", "(await import('./bin/bundle-loader.js')).writeBuildCache()"],
  { cwd: new URL("..", import.meta.url), stdio: "inherit" },
)
