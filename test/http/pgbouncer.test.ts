/**
 * Behind PgBouncer in transaction mode (Debian's 1.18: no protocol-level prepared statements): with
 * `poolMode: "transaction"` concurrent session checks, two instances (revocation seen at once by the other) and token
 * expiry work; with named prepared statements (the session-mode fast path) the same load fails, which is why the
 * switch exists.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Client, signUpAndSignIn, startServer, type TestServer, useBackend } from "../support/http.js"
import { createDatabase } from "../support/postgres.js"

useBackend("pgbouncer")

/** `rounds` rounds of 32 concurrent session checks; the count of each status. */
const concurrentChecks = async (server: TestServer, token: string, rounds: number) => {
  const client = new Client(server.base)
  const statuses = new Map<number, number>()
  for (let round = 0; round < rounds; round++) {
    const answers = await Promise.all(
      Array.from({ length: 32 }, () => client.get("/session", { token, cookies: false })),
    )
    for (const { status } of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1)
  }
  return Object.fromEntries(statuses)
}

describe("behind PgBouncer in transaction mode", () => {
  let database: Awaited<ReturnType<typeof createDatabase>>
  let first: TestServer
  let second: TestServer

  const config = { emailVerification: { required: false }, session: { tokenTtl: "2 seconds" } }

  beforeAll(async () => {
    database = await createDatabase("pgbouncer")
    first = await startServer({ databaseUrl: database.url, config })
    second = await startServer({ databaseUrl: database.url, config })
  })
  afterAll(async () => {
    await first?.close()
    await second?.close()
    await database?.drop()
  })

  it("named prepared statements break under concurrency (the failure the switch avoids)", async () => {
    // Signed up without a mailed code: the mail dispatcher's statements break here too.
    const named = await startServer({ databaseUrl: database.url, pool: { poolMode: "session" }, quiet: true, config })
    try {
      const { session_token: token } = await signUpAndSignIn(named, new Client(named.base))
      const statuses = await concurrentChecks(named, token, 5)
      expect(statuses[500] ?? 0).toBeGreaterThan(0)
    } finally {
      await named.close()
    }
  })

  it("answers 32 concurrent session checks, every one 200", async () => {
    const { session_token: token } = await signUpAndSignIn(first, new Client(first.base))
    expect(await concurrentChecks(first, token, 5)).toEqual({ 200: 160 })
  })

  it("a session revoked on one instance is refused by the other at once", async () => {
    const onFirst = new Client(first.base)
    const { session_token: token } = await signUpAndSignIn(first, onFirst)
    const onSecond = new Client(second.base)
    expect((await onSecond.get("/session", { token })).status).toBe(200)
    expect((await onFirst.post("/signout", undefined, { token })).status).toBe(200)
    const after = await onSecond.get("/session", { token })
    expect(after.status).toBe(401)
  })

  it("a token expires on every instance; its refresh token (used on the other) gives a new one", async () => {
    const onFirst = new Client(first.base)
    const { session_token: token, refresh_token: refreshToken } = await signUpAndSignIn(first, onFirst)
    const onSecond = new Client(second.base)
    expect((await onSecond.get("/session", { token, cookies: false })).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 2_200))
    expect((await onFirst.get("/session", { token, cookies: false })).status).toBe(401)
    expect((await onSecond.get("/session", { token, cookies: false })).status).toBe(401)
    const refreshed = await onSecond.post("/refresh", { refresh_token: refreshToken }, { cookies: false })
    expect(refreshed.status).toBe(200)
    expect((await onFirst.get("/session", { token: refreshed.body.session_token, cookies: false })).status).toBe(200)
  })
})
