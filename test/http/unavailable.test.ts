/** The database going away: 503 `unavailable` with Retry-After (never a hang or a 500), and recovery. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Client, signUpAndSignIn, startServer, type TestServer } from "../support/http.js"
import { createDatabase } from "../support/postgres.js"
import { proxied } from "../support/proxy.js"

describe("database unreachable", () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let proxy: Awaited<ReturnType<typeof proxied>>["proxy"]
  let port: number
  let server: TestServer

  beforeAll(async () => {
    database = await createDatabase("down")
    const viaProxy = await proxied(database.url)
    proxy = viaProxy.proxy
    port = viaProxy.port
    server = await startServer({
      quiet: true,
      databaseUrl: viaProxy.url,
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
