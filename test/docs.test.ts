/**
 * The documented settings and the read ones are the same: every environment variable the server reads is listed by
 * `authsome --help` (src/server/variables.ts) and in the README's configuration table, and nothing is listed that is
 * not read.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { variables } from "../src/server/variables.js"

const root = join(import.meta.dirname, "..")
const source = (path: string) => readFileSync(join(root, path), "utf8")

/** The names the settings code reads: `variable("NAME")` and the engine variables' `name: "NAME"`. */
const readVariables = () => {
  const settings = source("src/server/settings.ts")
  const names = new Set<string>()
  for (const match of settings.matchAll(/variable\("([A-Z_]+)"\)|name: "([A-Z][A-Z_]+)"/g))
    names.add(match[1] ?? match[2]!)
  return [...names].sort()
}

describe("documented settings", () => {
  it("authsome --help lists exactly the variables the server reads", () => {
    expect(variables.map((v) => v.name).sort()).toEqual(readVariables())
  })

  it("the README's configuration table names every one of them", () => {
    const readme = source("README.md")
    const table = readme.slice(readme.indexOf("## Configuration (standalone server)"))
    for (const name of readVariables()) expect(table, name).toContain(`\`${name}\``)
  })
})
