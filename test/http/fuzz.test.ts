/**
 * Property-based fuzzing of every route of the served OpenAPI document (fast-check), over real HTTP on PostgreSQL:
 * bodies generated from each operation's request schema (valid most of the time, then any JSON, then not JSON),
 * with or without a valid session, garbage credentials and publishable keys, odd path and query parameters. Every
 * answer must be below 500, a status the operation documents, and valid against the schema documented for it.
 */
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Client, type TestServer, signUpAndSignIn, startServer, uniqueEmail } from "../support/http.js"
import { anyJson, arbitraryOf, type Document, makeValidators, type Operation } from "../support/openapi.js"

const runsPerOperation = Number(process.env["AUTHSOME_FUZZ_RUNS"] ?? 40)

/** What a generated request needs resolved when it is sent (the session may have been revoked by an earlier one). */
type Credential = "none" | "valid" | "garbage" | "malformed"
type PathParameter = { readonly kind: "own-session" } | { readonly kind: "text"; readonly value: string }

interface GeneratedRequest {
  readonly credential: Credential
  readonly body:
    | { readonly kind: "json"; readonly value: unknown }
    | { readonly kind: "raw"; readonly text: string }
    | undefined
  readonly contentType: string | undefined
  readonly publishableKey: "none" | "valid" | "garbage"
  readonly parameters: Readonly<Record<string, PathParameter>>
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
}

describe("fuzzing every route of the OpenAPI document", () => {
  let server: TestServer
  let document: Document
  let validators: ReturnType<typeof makeValidators>
  /** A signed-in user, replaced once something revoked its session. */
  let session: { token: string; sessionId: string } | undefined

  beforeAll(async () => {
    server = await startServer({ config: { lockout: { enabled: true } } })
    document = (await new Client(server.base).get("/openapi.json")).body
    validators = makeValidators(document)
  })
  afterAll(() => server?.close())

  const currentSession = async () => {
    if (session === undefined) {
      const client = new Client(server.base)
      const signed = await signUpAndSignIn(server, client, uniqueEmail("fuzz"))
      const current = await client.get("/session", { token: signed.session_token, cookies: false })
      session = { token: signed.session_token, sessionId: current.body.session.id }
    }
    return session
  }

  const operations = (doc: Document) =>
    Object.entries(doc.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })),
    )

  const requestOf = (operation: Operation): fc.Arbitrary<GeneratedRequest> => {
    const schema = operation.requestBody?.content["application/json"].schema
    const body = schema
      ? fc.oneof(
          {
            weight: 6,
            arbitrary: arbitraryOf(schema, document.components.schemas).map((value) => ({
              kind: "json" as const,
              value,
            })),
          },
          { weight: 2, arbitrary: anyJson.map((value) => ({ kind: "json" as const, value })) },
          {
            weight: 1,
            arbitrary: fc
              .oneof(fc.string(), fc.constantFrom("{", '{"a":', "[1,2", "null", '"\\u0000"', `{"x":${"[".repeat(40)}`))
              .map((text) => ({ kind: "raw" as const, text })),
          },
        )
      : fc.constant(undefined)
    const pathNames = (operation.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name)
    const queryNames = (operation.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name)
    const pathParameter: fc.Arbitrary<PathParameter> = fc.oneof(
      fc.constant({ kind: "own-session" as const }),
      fc
        .oneof(
          fc.string({ minLength: 1, maxLength: 40 }),
          fc.constantFrom("ases_00000000000000000000000000", "adev_zzzzzzzzzzzzzzzzzzzzzzzzzz", "%00", "..", "ausr_"),
        )
        .map((value) => ({ kind: "text" as const, value })),
    )
    return fc.record({
      credential: fc.constantFrom<Credential>("valid", "valid", "none", "garbage", "malformed"),
      body,
      contentType: fc.oneof(
        { weight: 8, arbitrary: fc.constant("application/json") },
        { weight: 1, arbitrary: fc.constantFrom("text/plain", "application/x-www-form-urlencoded", undefined) },
      ),
      publishableKey: fc.constantFrom("none", "none", "none", "valid", "garbage"),
      parameters: fc.record(Object.fromEntries(pathNames.map((name) => [name, pathParameter]))),
      query: fc
        .record(
          Object.fromEntries(
            queryNames.map((name) => [
              name,
              fc.option(
                fc.oneof(fc.string({ maxLength: 60 }), fc.constant(server.handlers.authsome.defaultApp.publishableKey)),
              ),
            ]),
          ),
        )
        .map(
          (values) =>
            Object.fromEntries(Object.entries(values).filter(([, value]) => value !== null)) as Record<string, string>,
        ),
      headers: fc.record(
        {
          origin: fc.constantFrom("https://evil.example", "null", "http://127.0.0.1"),
          "user-agent": fc.string({ maxLength: 200 }).map((agent) => agent.replace(/[^\x20-\x7e]/g, "")),
          "x-forwarded-for": fc.constantFrom("203.0.113.9", "2001:db8::1", "not an address", "1.2.3.4, 5.6.7.8"),
        },
        { requiredKeys: [] },
      ),
    })
  }

  const send = async (path: string, method: string, generated: GeneratedRequest) => {
    const active = generated.credential === "valid" ? await currentSession() : undefined
    let url = path.slice(server.handlers.authsome.config.basePath.length)
    for (const [name, parameter] of Object.entries(generated.parameters)) {
      const value = parameter.kind === "own-session" ? (await currentSession()).sessionId : parameter.value
      url = url.replace(`{${name}}`, encodeURIComponent(value))
    }
    const query = new URLSearchParams(generated.query).toString()
    const headers: Record<string, string> = { ...generated.headers }
    if (generated.contentType) headers["content-type"] = generated.contentType
    if (active) headers["authorization"] = `Bearer ${active.token}`
    if (generated.credential === "garbage") headers["authorization"] = `Bearer ${"g".repeat(43)}`
    if (generated.credential === "malformed") headers["authorization"] = "Bearer a b c"
    if (generated.publishableKey === "valid")
      headers["x-publishable-key"] = server.handlers.authsome.defaultApp.publishableKey
    if (generated.publishableKey === "garbage") headers["x-publishable-key"] = "pk_garbage"
    const body =
      generated.body === undefined
        ? undefined
        : generated.body.kind === "raw"
          ? generated.body.text
          : JSON.stringify(generated.body.value)
    const response = await new Client(server.base).request(method, `${url}${query ? `?${query}` : ""}`, {
      headers,
      cookies: false,
      ...(body === undefined ? {} : { rawBody: body }),
    })
    // Whatever ended the session (sign-out, deletion, revocation): the next "valid" one is a new user.
    if (active && response.status < 300 && /signout|^DELETE \/(me|sessions)/.test(`${method} ${url}`))
      session = undefined
    return response
  }

  it("covers every operation of the document", () => {
    expect(operations(document).length).toBeGreaterThan(20)
  })

  // One property per operation, so a failure names it; the operations come from the document served at start.
  it("no 5xx, and every answer is documented and matches its schema", async () => {
    const failures: Array<string> = []
    for (const { path, method, operation } of operations(document)) {
      await fc
        .assert(
          fc.asyncProperty(requestOf(operation), async (generated) => {
            const response = await send(path, method, generated)
            const where = `${method} ${path} → ${response.status}`
            expect(response.status, `${where} ${JSON.stringify(response.body)}`).toBeLessThan(500)
            const documented = operation.responses[String(response.status)]
            expect(documented, `${where}: not a documented status`).toBeDefined()
            const schema = documented!.content?.["application/json"].schema
            if (schema && method !== "HEAD") {
              expect(response.headers.get("content-type"), where).toMatch(/^application\/json/)
              const validate = validators.validator(schema)
              const valid = validate(response.body)
              expect(valid, `${where}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(response.body)}`).toBe(
                true,
              )
            }
          }),
          { numRuns: runsPerOperation, endOnFailure: true },
        )
        .catch((error: Error) =>
          failures.push(`${method} ${path}: ${error.message.split("\n").slice(0, 12).join("\n")}`),
        )
    }
    expect(failures).toEqual([])
  }, 600_000)
})
