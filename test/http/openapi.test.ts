/**
 * The served OpenAPI document: it passes `@redocly/cli lint` with the recommended rules (run offline, no errors and
 * no warnings) and every schema in it compiles under JSON Schema 2020-12 (Ajv, strict mode): no duplicate `$id`, no
 * unknown keyword, every `$ref` resolved. The official OAS 3.1 meta-schema is not fetched at test time; the
 * document's structure is checked by Redocly's `struct` rule, its schemas by Ajv. Also: the constraints the server
 * enforces are in it, public operations say `security`, and the reference page is served from this server alone.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type TestServer, startServer } from "../support/http.js"
import { type Document, makeValidators, schemasOf } from "../support/openapi.js"
import { CheckedClient, expectError } from "../support/security.js"

const root = join(import.meta.dirname, "..", "..")

describe("the OpenAPI document", () => {
  let server: TestServer
  let document: Document
  const scratch = mkdtempSync(join(tmpdir(), "authsome-openapi-"))
  beforeAll(async () => {
    server = await startServer()
    document = (await new CheckedClient(server.base).get("/openapi.json")).body
  })
  afterAll(async () => {
    await server?.close()
    rmSync(scratch, { recursive: true, force: true })
  })

  it("passes `redocly lint` with the recommended rules: no errors, no warnings", async () => {
    const file = join(scratch, "openapi.json")
    writeFileSync(file, JSON.stringify(document))
    const cli = join(root, "node_modules", "@redocly", "cli", "bin", "cli.js")
    const run = await promisify(execFile)(
      process.execPath,
      [cli, "lint", file, "--extends", "recommended", "--format=json"],
      {
        cwd: scratch,
        // Offline and quiet: no telemetry, no update check.
        env: {
          PATH: process.env.PATH ?? "",
          REDOCLY_TELEMETRY: "off",
          REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
          CI: "true",
        },
        maxBuffer: 64 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string; stderr?: string; code?: number }) => error)
    const report = JSON.parse(String(run.stdout)) as {
      totals: { errors: number; warnings: number }
      problems: Array<{ ruleId: string; message: string; location: Array<{ pointer: string }> }>
    }
    const problems = report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`)
    expect(problems).toEqual([])
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 })
  }, 120_000)

  it("every schema compiles under JSON Schema 2020-12 (Ajv strict): no duplicate $id, every $ref resolved", () => {
    expect(document.openapi).toMatch(/^3\.1\.\d+$/)
    const ids: Array<string> = []
    const collect = (value: unknown) => {
      if (Array.isArray(value)) value.forEach(collect)
      else if (typeof value === "object" && value !== null) {
        for (const [key, child] of Object.entries(value)) {
          if (key === "$id") ids.push(String(child))
          collect(child)
        }
      }
    }
    collect(document)
    expect(ids.length).toBe(new Set(ids).size)
    const { validator } = makeValidators(document)
    const schemas = schemasOf(document)
    expect(schemas.length).toBeGreaterThan(40)
    for (const [where, schema] of schemas) expect(() => validator(schema), where).not.toThrow()
  })

  it("states servers, a license, `security` on every operation (the publishable key on the app's public ones)", () => {
    expect(document.servers.length).toBeGreaterThan(0)
    expect((document as any).info.license).toEqual({ name: "MIT", identifier: "MIT" })
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method} ${path}`
        expect(Array.isArray(operation.security), where).toBe(true)
        const schemes = operation.security.flatMap((requirement) => Object.keys(requirement))
        if (path.endsWith("/health") || path.endsWith("/openapi.json")) {
          expect(operation.security, where).toEqual([])
        } else if (schemes.includes("bearer")) {
          expect(schemes, where).toContain("sessionCookie")
        } else {
          expect(operation.security, where).toEqual([{}, { publishableKey: [] }])
        }
      }
    }
  })

  it("holds the constraints the server enforces: email, username, code, token and length limits", () => {
    const body = (path: string) =>
      document.paths[`/v1/auth${path}`]!["post"]!.requestBody!.content["application/json"].schema
    const signup = body("/signup")
    expect(signup["properties"].email).toMatchObject({ type: "string", format: "email", maxLength: 254 })
    const email = new RegExp(signup["properties"].email.pattern)
    for (const good of ["ada@example.com", " Ada.Lovelace+x@Sub.Example.org "])
      expect(email.test(good), good).toBe(true)
    for (const bad of ["attacker@evil.com;corp.com", "ceo<attacker@evil.com>", "a b@example.com", "x@y"]) {
      expect(email.test(bad), bad).toBe(false)
    }
    expect(signup["properties"].password).toMatchObject({ maxLength: 4096 })
    expect(JSON.stringify(signup["properties"].username)).toContain("^[A-Za-z0-9_.-]{3,64}$")
    expect(JSON.stringify(signup["properties"].first_name)).toContain('"maxLength":255')
    expect(JSON.stringify(body("/verify-email"))).toContain("^\\\\d{6}$")
    expect(JSON.stringify(body("/reset-password")["properties"].token)).toMatch(/"minLength":1.*"maxLength":512/)
    const patch = document.paths["/v1/auth/me"]!["patch"]!.requestBody!.content["application/json"].schema
    expect(JSON.stringify(patch["properties"].image)).toContain("https?")
    const clientConfig = document.paths["/v1/auth/client-config"]!["get"]!
    expect(clientConfig.parameters?.map((p) => p.name)).toEqual(["key", "publishable_key"])
    expect(clientConfig.responses["200"]!.content).toBeDefined()
    expect(document.paths["/v1/auth/openapi.json"]!["get"]!.responses["200"]!.content).toBeDefined()
  })

  it("the reference page renders this document with Swagger UI from this server's own files (no CDN), under a CSP", async () => {
    const client = new CheckedClient(server.base)
    const page = await client.get("/docs")
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toMatch(/^text\/html/)
    const policy = page.headers.get("content-security-policy") ?? ""
    expect(policy).toMatch(/default-src 'none'/)
    expect(policy).toMatch(/script-src 'self'(;|$)/)
    expect(policy).toMatch(/connect-src 'self'/)
    const html = String(page.body)
    expect(html).not.toMatch(/https?:\/\//)
    expect(html).not.toMatch(/<script>(?!<\/)/) // no inline script
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
    expect(sources.length).toBe(3)
    for (const source of sources) {
      expect(source.startsWith("/v1/auth/docs/")).toBe(true)
      const asset = await fetch(`${server.origin}${source}`)
      expect(asset.status, source).toBe(200)
      expect(asset.headers.get("content-type"), source).toMatch(/^text\/(css|javascript)/)
      const content = await asset.text()
      expect(content.length, source).toBeGreaterThan(source.endsWith("start.js") ? 10 : 10_000)
      if (source.endsWith("start.js")) expect(content).toContain('"url":"/v1/auth/openapi.json"')
    }
    expectError(await client.get("/docs/../../package.json"), 404, "not_found")
    expectError(await client.get("/docs/index.html"), 404, "not_found")
    // Not part of the document it renders.
    expect(Object.keys(document.paths).filter((path) => path.includes("/docs"))).toEqual([])
  })
})
