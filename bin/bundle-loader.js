// Loads the bundled program (`dist/authsome.cjs`) with V8's code cache: Node 20 has no compile cache of its own, and
// parsing and compiling the 1.9 MB bundle was a fifth of every start-up. The build writes a cache of the bundle's
// top level next to it; the first run that finds no cache of its own (or one V8 rejects: another Node, other flags)
// writes one after start-up, when it also holds the functions the start-up compiled, to `node_modules/.cache/authsome`
// beside the bundle (never a shared directory such as /tmp: a cache is code, another user must not be able to plant
// one). A cache is only ever a speed-up: a missing, stale or unwritable one falls back to compiling.
import { createHash } from "node:crypto"
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Script } from "node:vm"

const bundlePath = fileURLToPath(new URL("../dist/authsome.cjs", import.meta.url))
const buildCachePath = `${bundlePath}.cache`
const warmCacheDir = join(dirname(bundlePath), "..", "node_modules", ".cache", "authsome")
/** The moment a run's own cache is written: start-up is over by then, and most of what it compiled is kept. */
const warmAfterMs = 5_000

/** CommonJS's module wrapper: the bundle runs as a CommonJS module would. */
const wrap = (source) => `(function (exports, require, module, __filename, __dirname) {${source}\n})`

const readOrUndefined = (path) => {
  try {
    return readFileSync(path)
  } catch {
    return undefined
  }
}

/** Atomically, so that concurrent starts never read half a cache; `replacing`: other builds' caches, deleted. */
const writeQuietly = (path, data, replacing = false) => {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    if (replacing) {
      for (const name of readdirSync(dirname(path))) {
        if (name.endsWith(".cache")) rmSync(join(dirname(path), name), { force: true })
      }
    }
    const partial = `${path}.${process.pid}.tmp`
    writeFileSync(partial, data)
    renameSync(partial, path)
  } catch {
    // Read-only or full: the next start compiles, as without a cache.
  }
}

const compile = (source, cachedData) => new Script(wrap(source), { filename: bundlePath, cachedData })

/** Called by the build (with the same V8 flags as the program, which the cache depends on). */
export const writeBuildCache = () =>
  writeQuietly(buildCachePath, compile(readFileSync(bundlePath, "utf8")).createCachedData())

/** Runs the bundle; false when it is not built. */
export const runBundle = () => {
  const stat = statSync(bundlePath, { throwIfNoEntry: false })
  if (stat === undefined) return false
  const source = readFileSync(bundlePath, "utf8")
  // One cache per build: the bundle's path, size and time of writing name it.
  const key = createHash("sha256").update(`${bundlePath}:${stat.size}:${stat.mtimeMs}:${process.version}`).digest("hex")
  const warmCachePath = join(warmCacheDir, `${key.slice(0, 32)}.cache`)
  const warm = readOrUndefined(warmCachePath)
  let script = compile(source, warm ?? readOrUndefined(buildCachePath))
  const warmUsable = warm !== undefined && script.cachedDataRejected !== true
  if (warm !== undefined && !warmUsable) script = compile(source, readOrUndefined(buildCachePath))
  if (!warmUsable) {
    let written = false
    const writeWarm = () => {
      if (written) return
      written = true
      writeQuietly(warmCachePath, script.createCachedData(), true)
    }
    setTimeout(writeWarm, warmAfterMs).unref()
    process.once("exit", writeWarm)
  }
  const module = { exports: {}, filename: bundlePath, id: bundlePath }
  script.runInThisContext()(module.exports, createRequire(bundlePath), module, bundlePath, dirname(bundlePath))
  return true
}
