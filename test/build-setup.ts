/**
 * Vitest global setup: the built package (`dist/`: tsc's modules and declarations, and the CLI bundle), rebuilt once
 * when a source file is newer, before any test file runs — the CLI and package tests use it, and building it in
 * several test files at once could hand one of them a half-written file.
 */
import { execFile } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"

const root = join(import.meta.dirname, "..")

const newest = (dir: string) => {
  let latest = 0
  for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs)
  }
  return latest
}

const builtAt = (file: string) => statSync(join(root, "dist", file), { throwIfNoEntry: false })?.mtimeMs ?? 0

export default async function setup() {
  const sources = Math.max(newest("src"), statSync(join(root, "package.json")).mtimeMs)
  if (Math.min(builtAt("index.js"), builtAt("authsome.cjs")) >= sources) return
  await promisify(execFile)("npm", ["run", "build"], { cwd: root })
}
