/**
 * Finding 6 of the black-box review: while PostgreSQL is unreachable every route answers 503 `unavailable` with
 * `Retry-After` — the password routes included, with rate limits and lockout on — never a 500, a hang or a success
 * that wrote nothing. Only `/health` (503 `unhealthy`), and `/openapi.json` and `/client-config` (served from memory)
 * answer otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ApiResponse, Client, type TestServer, startServer, strongPassword, uniqueEmail } from "../support/http.js"
import { adminUrl, createDatabase } from "../support/postgres.js"
import { proxied } from "../support/proxy.js"
import { expectError, query } from "../support/security.js"

describe("every route while the database is down", () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let proxy: Awaited<ReturnType<typeof proxied>>["proxy"]
  let port: number
  let server: TestServer

  beforeAll(async () => {
    database = await createDatabase("outage")
    const viaProxy = await proxied(database.url)
    proxy = viaProxy.proxy
    port = viaProxy.port
    server = await startServer({
      quiet: true,
      databaseUrl: viaProxy.url,
      config: { emailVerification: { required: false }, rateLimit: { enabled: true }, lockout: { enabled: true } },
    })
  })
  afterAll(async () => {
    await server?.close()
    await proxy?.stop()
    await database?.drop()
  })

  it("answers 503 unavailable with Retry-After on every route of the document, and recovers", async () => {
    const client = new Client(server.base)
    const email = uniqueEmail("outage")
    const signup = await client.post("/signup", { email, password: strongPassword })
    expect(signup.status).toBe(201)
    const { session_token: token, refresh_token: refresh } = signup.body
    const sessionId = (await client.get("/session", { token, cookies: false })).body.session.id as string
    const document = (await client.get("/openapi.json")).body as { paths: Record<string, Record<string, unknown>> }

    // A plausible request for each operation: the routes must reach the database to fail, not stop at validation.
    const bodies: Record<string, unknown> = {
      "/signup": { email: uniqueEmail("down"), password: strongPassword },
      "/signin": { email, password: strongPassword },
      "/refresh": { refresh_token: refresh },
      "/verify-email": { email, code: "123456" },
      "/verify-email/resend": { email },
      "/forgot-password": { email },
      "/reset-password": { token: "a".repeat(43), new_password: "a brand new passphrase" },
      "/change-password": { current_password: strongPassword, new_password: "a brand new passphrase" },
      "/introspect": { token },
      "/me": { first_name: "Down" },
    }
    await proxy.stop()
    const answers: Array<[string, ApiResponse]> = []
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) {
        const route = path.slice(server.handlers.authsome.config.basePath.length)
        const concrete = route.replace(
          "{id}",
          route.startsWith("/sessions") ? sessionId : "adev_01jbcdefghjkmnpqrstvwxyz0",
        )
        const body = method === "get" || method === "delete" ? undefined : (bodies[route] ?? {})
        answers.push([
          `${method.toUpperCase()} ${route}`,
          await client.request(method.toUpperCase(), concrete, {
            ...(body === undefined ? {} : { body }),
            token,
            cookies: false,
          }),
        ])
      }
    }
    expect(answers.length).toBeGreaterThan(15)
    // Served from memory: the document, and the app's client configuration (the app was resolved before).
    const fromMemory = new Set(["GET /openapi.json", "GET /client-config"])
    const wrong = answers.flatMap(([operation, response]) => {
      const expected = fromMemory.has(operation)
        ? { status: 200, type: undefined, retryAfter: false }
        : operation === "GET /health"
          ? { status: 503, type: undefined, retryAfter: false }
          : { status: 503, type: "unavailable", retryAfter: true }
      const actual = {
        status: response.status,
        type: response.body?.type as string | undefined,
        retryAfter: Number(response.headers.get("retry-after")) >= 1,
      }
      return JSON.stringify(actual) === JSON.stringify(expected) ? [] : [{ operation, ...actual }]
    })
    expect(wrong).toEqual([])
    for (const [operation, response] of answers) {
      if (response.status === 503 && operation !== "GET /health") expectError(response, 503, "unavailable")
    }

    await proxy.start(port)
    expect((await client.get("/health")).status).toBe(200)
    expect((await client.post("/signin", { email, password: strongPassword })).status).toBe(200)
  }, 90_000)

  it("a server that refuses sessions (not accepting connections: FATAL 55000) is unavailable too, never a 500", async () => {
    const client = new Client(server.base)
    const email = uniqueEmail("refused")
    const signup = await client.post("/signup", { email, password: strongPassword })
    expect(signup.status).toBe(201)
    const name = new URL(database.url).pathname.slice(1)
    await query(adminUrl, `ALTER DATABASE ${name} ALLOW_CONNECTIONS false`)
    try {
      // The open sessions end (57P01); new ones are refused at start-up with FATAL 55000.
      await query(adminUrl, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name])
      const attempts = [
        await client.post("/signin", { email, password: strongPassword }),
        await client.post("/signin", { email: uniqueEmail("x"), password: strongPassword }),
        await client.get("/session", { token: signup.body.session_token, cookies: false }),
        await client.post("/forgot-password", { email }),
        await client.post(
          "/change-password",
          { current_password: strongPassword, new_password: "another passphrase" },
          {
            token: signup.body.session_token,
            cookies: false,
          },
        ),
      ]
      for (const response of attempts) {
        expectError(response, 503, "unavailable")
        expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
      }
    } finally {
      await query(adminUrl, `ALTER DATABASE ${name} ALLOW_CONNECTIONS true`)
    }
    expect((await client.post("/signin", { email, password: strongPassword })).status).toBe(200)
  }, 60_000)
})
