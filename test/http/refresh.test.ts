/**
 * Finding 13 of the black-box review: a burst of refreshes signed the user out (the losers counted as reuse and
 * revoked the family, the winner's session with it). The reuse-grace rule of http-api.md §3: the refresh token
 * rotated last, presented again within `session.refreshReuseInterval`, is refused without revoking anything; any
 * other reuse (later, or of an older token) still revokes the family. Over real HTTP on PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type TestServer, startServer, strongPassword, uniqueEmail } from "../support/http.js"
import { CheckedClient, expectError, query } from "../support/security.js"

describe("refresh reuse grace", () => {
  /** The default grace (10 s). */
  let server: TestServer
  /** A grace of one second, to see it end. */
  let brief: TestServer
  beforeAll(async () => {
    const config = { emailVerification: { required: false } }
    ;[server, brief] = await Promise.all([
      startServer({ config }),
      startServer({ config: { ...config, session: { refreshReuseInterval: "1 second" } } }),
    ])
  })
  afterAll(() => Promise.all([server?.close(), brief?.close()]))

  const signedUp = async (at: TestServer) => {
    const response = await new CheckedClient(at.base).post("/signup", {
      email: uniqueEmail("grace"),
      password: strongPassword,
    })
    expect(response.status).toBe(201)
    return response.body as { session_token: string; refresh_token: string; user: { id: string } }
  }
  const refresh = (at: TestServer, token: string) =>
    new CheckedClient(at.base).post("/refresh", { refresh_token: token }, { cookies: false })
  const sessionStatus = async (at: TestServer, token: string) =>
    (await new CheckedClient(at.base).get("/session", { token, cookies: false })).status
  const reuseEvents = async (at: TestServer, userId: string) =>
    (
      await query(
        at.databaseUrl,
        "SELECT id FROM authsome_audit_events WHERE user_id = $1 AND type = 'auth.refresh_token_reused'",
        [userId],
      )
    ).length

  it("20 concurrent refreshes: one wins, the others are refused, and the winner stays signed in (5 runs)", async () => {
    for (let run = 0; run < 5; run++) {
      const user = await signedUp(server)
      const results = await Promise.all(Array.from({ length: 20 }, () => refresh(server, user.refresh_token)))
      const winners = results.filter((r) => r.status === 200)
      expect(winners.length).toBe(1)
      for (const loser of results.filter((r) => r.status !== 200)) expectError(loser, 401, "invalid_credentials")
      const winner = winners[0]!.body
      expect(await sessionStatus(server, winner.session_token)).toBe(200)
      // Its refresh token goes on working: the family was not revoked.
      const next = await refresh(server, winner.refresh_token)
      expect(next.status).toBe(200)
      expect(await sessionStatus(server, next.body.session_token)).toBe(200)
      expect(await reuseEvents(server, user.user.id)).toBe(0)
    }
  })

  it("the token rotated last, presented again within the grace, is refused without revoking the family", async () => {
    const user = await signedUp(server)
    const rotated = await refresh(server, user.refresh_token)
    expect(rotated.status).toBe(200)
    for (let i = 0; i < 3; i++) expectError(await refresh(server, user.refresh_token), 401, "invalid_credentials")
    expect(await sessionStatus(server, rotated.body.session_token)).toBe(200)
    expect((await refresh(server, rotated.body.refresh_token)).status).toBe(200)
    expect(await reuseEvents(server, user.user.id)).toBe(0)
  })

  it("an older token within the grace is reuse: the family is revoked", async () => {
    const user = await signedUp(server)
    const first = await refresh(server, user.refresh_token)
    const second = await refresh(server, first.body.refresh_token)
    expect(second.status).toBe(200)
    // The original token was rotated a moment ago, but it is no longer the last one rotated.
    expectError(await refresh(server, user.refresh_token), 401, "invalid_credentials")
    expect(await reuseEvents(server, user.user.id)).toBe(1)
    expect(await sessionStatus(server, second.body.session_token)).toBe(401)
    expectError(await refresh(server, second.body.refresh_token), 401, "invalid_credentials")
  })

  it("the token rotated last, presented again after the grace, is reuse: the family is revoked", async () => {
    const user = await signedUp(brief)
    const rotated = await refresh(brief, user.refresh_token)
    expect(rotated.status).toBe(200)
    expectError(await refresh(brief, user.refresh_token), 401, "invalid_credentials")
    expect(await sessionStatus(brief, rotated.body.session_token)).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    expectError(await refresh(brief, user.refresh_token), 401, "invalid_credentials")
    expect(await sessionStatus(brief, rotated.body.session_token)).toBe(401)
    expect(await reuseEvents(brief, user.user.id)).toBe(1)
  })
})
