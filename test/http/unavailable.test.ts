/** The database going away: 503 `unavailable` with Retry-After (never a hang or a 500), and recovery. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Client, signUpAndSignIn, startServer, type TestServer } from "../support/http.js"
import { createDatabase } from "../support/postgres.js"
import { makeProxy } from "../support/proxy.js"

describe("database unreachable", () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let proxy: ReturnType<typeof makeProxy>
  let port: number
  let server: TestServer

  beforeAll(async () => {
    database = await createDatabase("down")
    const target = new URL(database.url)
    proxy = makeProxy(target.hostname, Number(target.port || 5432))
    port = await proxy.start(0)
    const viaProxy = new URL(database.url)
    viaProxy.hostname = "127.0.0.1"
    viaProxy.port = String(port)
    server = await startServer({
      quiet: true,
      databaseUrl: viaProxy.toString(),
      config: { emailVerification: { required: false } },
    })
  })
  afterAll(async () => {
    await server?.close()
    await proxy?.stop()
    await database?.drop()
  })

  it("answers 503 unavailable while PostgreSQL is down, /health says unhealthy, and recovers", async () => {
    const client = new Client(server.base)
    const { session_token: token } = await signUpAndSignIn(server, client)
    expect((await client.get("/session", { token })).status).toBe(200)

    await proxy.stop()
    const health = await client.get("/health")
    expect(health.status).toBe(503)
    expect(health.body).toEqual({ status: "unhealthy" })
    const session = await client.get("/session", { token })
    expect(session.status).toBe(503)
    expect(session.body).toEqual({ error: "service temporarily unavailable", code: 503, type: "unavailable" })
    expect(session.headers.get("retry-after")).toBe("5")
    const signin = await client.post("/signin", { email: "nobody@example.com", password: "whatever it is" })
    expect(signin.status).toBe(503)
    expect(signin.body.type).toBe("unavailable")

    await proxy.start(port)
    expect((await client.get("/health")).status).toBe(200)
    expect((await client.get("/session", { token })).status).toBe(200)
  })
})
