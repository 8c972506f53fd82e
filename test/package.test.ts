/**
 * The package as a consumer gets it: `npm pack`, then the README's install line in a scratch project (against a
 * registry on 127.0.0.1 made of this project's installed packages: nothing is downloaded), then the README's "As a library" code type-checked with strict `tsc`
 * (`skipLibCheck` off, so our declarations must stand on their own) and run against PostgreSQL.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type LocalRegistry, startLocalRegistry } from "./support/local-registry.js"
import { createDatabase } from "./support/postgres.js"

const root = join(import.meta.dirname, "..")
const exec = promisify(execFile)
const readme = readFileSync(join(root, "README.md"), "utf8")

/** The fenced blocks of the README's "As a library" section. */
const librarySection = readme.slice(
  readme.indexOf("## As a library"),
  readme.indexOf("\n## ", readme.indexOf("## As a library") + 5),
)
const blocks = (language: string) =>
  [...librarySection.matchAll(new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!)

describe("the packed package in a consumer project", () => {
  const scratch = mkdtempSync(join(tmpdir(), "authsome-consumer-"))
  let database: Awaited<ReturnType<typeof createDatabase>>
  let tarball: string
  let registry: LocalRegistry

  beforeAll(async () => {
    database = await createDatabase("consumer")
    registry = await startLocalRegistry(root)
    const packed = await exec("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", scratch], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    })
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
    tarball = join(scratch, info!.filename)
    writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
    const install = blocks("sh").find((block) => block.startsWith("npm i authsome-ts"))!
    const args = install
      .trim()
      .split(/\s+/)
      .slice(2)
      .map((arg) => (arg === "authsome-ts" ? tarball : arg))
    const npmrc = join(scratch, ".npmrc")
    writeFileSync(npmrc, `registry=${registry.url}/\n`)
    await exec("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--userconfig", npmrc, ...args], {
      cwd: scratch,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, npm_config_cache: join(scratch, ".npm-cache") },
    })
  }, 240_000)

  afterAll(async () => {
    rmSync(scratch, { recursive: true, force: true })
    await registry?.close()
    await database?.drop()
  })

  it("ships the build and nothing of the sources: no source maps, no tests", async () => {
    const listed = await exec("tar", ["-tzf", tarball])
    const files = listed.stdout.split("\n").filter(Boolean)
    expect(files).toContain("package/dist/index.d.ts")
    expect(files).toContain("package/dist/authsome.cjs")
    expect(files).toContain("package/dist/authsome.cjs.cache")
    expect(files.filter((file) => file.endsWith(".map"))).toEqual([])
    expect(files.filter((file) => /\/(src|test|bench|examples)\//.test(file))).toEqual([])
    const installed = JSON.parse(readFileSync(join(scratch, "node_modules", "effect", "package.json"), "utf8"))
    expect(installed.version).toMatch(/^3\./)
  })

  it("type-checks the README's code with strict tsc, then runs it", async () => {
    const driver = `
import { makeHandlers } from "authsome-ts"

const handlers = await makeHandlers(AuthLive)
const email = "consumer@example.com"
const password = "correct horse battery staple"
const signup = await handlers.fetch(
  new Request("http://localhost/v1/auth/signup", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  }),
)
const outcome = await Effect.runPromise(Effect.either(signIn(email, password)))
console.log(JSON.stringify({ signup: signup.status, signIn: outcome._tag === "Left" ? outcome.left._tag : "Right" }))
await handlers.dispose()
`
    writeFileSync(join(scratch, "main.ts"), [...blocks("ts"), driver].join("\n"))
    writeFileSync(
      join(scratch, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          exactOptionalPropertyTypes: true,
          skipLibCheck: false,
          outDir: "out",
          lib: ["ES2022", "DOM"],
          typeRoots: [join(root, "node_modules", "@types")],
          types: ["node"],
        },
        files: ["main.ts"],
      }),
    )
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
    await exec(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: scratch }).catch((error) => {
      throw new Error(`tsc failed:\n${error.stdout}${error.stderr}`)
    })
    const run = await exec(process.execPath, [join(scratch, "out", "main.js")], {
      cwd: scratch,
      env: { ...process.env, DATABASE_URL: database.url },
    })
    const result = JSON.parse(run.stdout.trim().split("\n").at(-1)!)
    // Verification is required by default: the sign-up is pending, so signing in says the email is not verified.
    expect(result).toEqual({ signup: 201, signIn: "EmailNotVerified" })
  }, 120_000)
})
