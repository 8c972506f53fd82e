/**
 * Lockout, rate limits and the hash queue against the attacks of the black-box review (http-api.md §3 "Hardening
 * rules"), over real HTTP on PostgreSQL:
 * - finding 4: `/change-password` is rate limited (5/min per user, 10/min per IP), its failures count toward the
 *   account's lockout, and the argon2 queue is bounded (503 `unavailable` + `Retry-After` at once when full);
 * - finding 8: the lockout is per account, whichever identifier (email or username) names it;
 * - finding 9: IP limits are shared by every app (alternating publishable keys gains nothing), IPv6 by /64;
 * - finding 12: rate-limit and lockout keys hold no email, username or address, not even as a plain hash.
 *
 * Loopback is a trusted proxy, so each test picks its client address with `X-Forwarded-For`.
 */
import { createHash } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Password from "../../src/plugins/password/index.js"
import { type ApiResponse, type TestServer, startServer, strongPassword, uniqueEmail } from "../support/http.js"
import { CheckedClient, expectError, query, timed } from "../support/security.js"

const wrongPassword = "not the right passphrase"
const newPassword = "an entirely new passphrase 7"
const sha256 = (value: string) => createHash("sha256").update(value).digest("hex")

let ipCounter = 0
/** A distinct documentation address (RFC 5737) per call. */
const nextIp = () => `192.0.2.${++ipCounter % 250}`
const from = (ip: string) => ({ headers: { "x-forwarded-for": ip } })

const expectRateLimited = (response: ApiResponse, limit: number) => {
  expectError(response, 429, "rate_limited")
  expect(response.headers.get("ratelimit-limit")).toBe(String(limit))
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
}

describe("limits", () => {
  /** Lockout on, rate limits off. */
  let lockout: TestServer
  /** Rate limits on, lockout off. */
  let limited: TestServer
  /** A second app on the rate-limited server's database (its engine creates it). */
  let otherApp: TestServer
  /** A tiny hash queue: two workers, four waiting. */
  let flooded: TestServer
  /** Every identifier and address the tests typed, to look for in the counters' keys. */
  const typed = new Set<string>()

  beforeAll(async () => {
    const noVerification = { emailVerification: { required: false } }
    ;[lockout, limited, flooded] = await Promise.all([
      startServer({ config: { ...noVerification, lockout: { enabled: true } } }),
      startServer({ config: { ...noVerification, rateLimit: { enabled: true }, lockout: { enabled: false } } }),
      startServer({
        config: {
          ...noVerification,
          lockout: { enabled: false },
          plugins: [Password.plugin({ hashConcurrency: 2, hashQueue: 4 })],
        },
      }),
    ])
    otherApp = await startServer({
      config: { ...noVerification, appId: "other", rateLimit: { enabled: true } },
      databaseUrl: limited.databaseUrl,
      smtp: limited.smtp,
    })
  })
  afterAll(async () => {
    await otherApp?.close()
    await Promise.all([lockout?.close(), limited?.close(), flooded?.close()])
  })

  const signUp = async (server: TestServer, options: { username?: string; ip?: string } = {}) => {
    const email = uniqueEmail("limits")
    typed.add(email)
    if (options.username) typed.add(options.username.toLowerCase())
    const body = { email, password: strongPassword, ...(options.username ? { username: options.username } : {}) }
    const response = await new CheckedClient(server.base).post("/signup", body, from(options.ip ?? nextIp()))
    expect(response.status, JSON.stringify(response.body)).toBe(201)
    return { email, id: response.body.user.id as string, token: response.body.session_token as string }
  }
  const signIn = (
    server: TestServer,
    identifier: { email: string } | { username: string },
    password: string,
    ip = nextIp(),
  ) => {
    typed.add(ip)
    return new CheckedClient(server.base).post("/signin", { ...identifier, password }, from(ip))
  }
  const changePassword = (server: TestServer, token: string, current: string, ip = nextIp()) => {
    typed.add(ip)
    return new CheckedClient(server.base).post(
      "/change-password",
      { current_password: current, new_password: newPassword },
      { token, cookies: false, ...from(ip) },
    )
  }

  describe("lockout is per account (finding 8)", () => {
    it("failures by email and by username share one counter; then both are locked, the right password too", async () => {
      const username = `Lock_${Date.now()}`
      const user = await signUp(lockout, { username })
      for (let i = 0; i < 4; i++)
        expectError(await signIn(lockout, { email: user.email }, wrongPassword), 401, "invalid_credentials")
      // The fifth failure, by username (any case), locks the account.
      expectError(
        await signIn(lockout, { username: username.toUpperCase() }, wrongPassword),
        401,
        "invalid_credentials",
      )
      expectError(await signIn(lockout, { email: user.email }, strongPassword), 429, "account_locked")
      expectError(await signIn(lockout, { username }, strongPassword), 429, "account_locked")
      const events = await query(
        lockout.databaseUrl,
        "SELECT type FROM authsome_audit_events WHERE user_id = $1 AND type = 'auth.account_locked'",
        [user.id],
      )
      expect(events.length).toBe(1)
    })

    it("the finding's sequence: 5 failures by email, 4 by username, then the right password → still locked", async () => {
      const username = `seq_${Date.now()}`
      const user = await signUp(lockout, { username })
      for (let i = 0; i < 5; i++) await signIn(lockout, { email: user.email }, wrongPassword)
      for (let i = 0; i < 4; i++) {
        expectError(await signIn(lockout, { username }, wrongPassword), 429, "account_locked")
      }
      expectError(await signIn(lockout, { username }, strongPassword), 429, "account_locked")
      expectError(await signIn(lockout, { email: user.email }, strongPassword), 429, "account_locked")
    })

    it("unknown identifiers are still counted one by one; another account is unaffected", async () => {
      const ghost = uniqueEmail("ghost")
      typed.add(ghost)
      for (let i = 0; i < 5; i++)
        expectError(await signIn(lockout, { email: ghost }, wrongPassword), 401, "invalid_credentials")
      expectError(await signIn(lockout, { email: ghost }, wrongPassword), 429, "account_locked")
      const other = await signUp(lockout)
      expect((await signIn(lockout, { email: other.email }, strongPassword)).status).toBe(200)
    })

    it("change-password failures count toward the lock; a locked account can neither change its password nor sign in", async () => {
      const user = await signUp(lockout)
      for (let i = 0; i < 5; i++) {
        expectError(await changePassword(lockout, user.token, wrongPassword), 401, "invalid_credentials")
      }
      expectError(await changePassword(lockout, user.token, strongPassword), 429, "account_locked")
      expectError(await signIn(lockout, { email: user.email }, strongPassword), 429, "account_locked")
      const failures = await query(
        lockout.databaseUrl,
        "SELECT type FROM authsome_audit_events WHERE user_id = $1 AND type = 'auth.password_change.failed'",
        [user.id],
      )
      expect(failures.length).toBe(5)
    })

    it("a successful change of password clears the failures counted so far", async () => {
      const user = await signUp(lockout)
      for (let i = 0; i < 4; i++) await signIn(lockout, { email: user.email }, wrongPassword)
      const changed = await changePassword(lockout, user.token, strongPassword)
      expect(changed.status, JSON.stringify(changed.body)).toBe(200)
      // Four more failures do not lock: the count started again.
      for (let i = 0; i < 4; i++)
        expectError(await signIn(lockout, { email: user.email }, wrongPassword), 401, "invalid_credentials")
      expect((await signIn(lockout, { email: user.email }, newPassword)).status).toBe(200)
    })
  })

  describe("rate limits", () => {
    it("change-password: the 6th attempt per minute of one user is 429, whatever the address (finding 4)", async () => {
      const user = await signUp(limited)
      for (let i = 0; i < 5; i++) {
        expectError(await changePassword(limited, user.token, wrongPassword), 401, "invalid_credentials")
      }
      expectRateLimited(await changePassword(limited, user.token, wrongPassword), 5)
      expectRateLimited(await changePassword(limited, user.token, strongPassword), 5)
    })

    it("change-password: the 11th attempt per minute from one address is 429, across users", async () => {
      const ip = nextIp()
      const users = [await signUp(limited), await signUp(limited), await signUp(limited)]
      for (let i = 0; i < 10; i++) {
        const user = users[i % 3]!
        expectError(await changePassword(limited, user.token, wrongPassword, ip), 401, "invalid_credentials")
      }
      expectRateLimited(await changePassword(limited, users[0]!.token, strongPassword, ip), 10)
    })

    it("IP limits are shared by every app: alternating publishable keys gains nothing (finding 9)", async () => {
      const keys = [
        limited.handlers.authsome.defaultApp.publishableKey,
        otherApp.handlers.authsome.defaultApp.publishableKey,
      ]
      expect(keys[0]).not.toBe(keys[1])
      const ip = nextIp()
      const attempt = (i: number) =>
        new CheckedClient(limited.base).post(
          "/signin",
          { email: uniqueEmail("alt"), password: wrongPassword },
          { headers: { "x-forwarded-for": ip, "x-publishable-key": keys[i % 2]! } },
        )
      for (let i = 0; i < 10; i++) expectError(await attempt(i), 401, "invalid_credentials")
      expectRateLimited(await attempt(10), 10)
      expectRateLimited(await attempt(11), 10)
    })

    it("IPv6 clients are limited by their /64", async () => {
      const signin = (ip: string) =>
        new CheckedClient(limited.base).post(
          "/signin",
          { email: uniqueEmail("v6"), password: wrongPassword },
          { headers: { "x-forwarded-for": ip } },
        )
      for (let i = 0; i < 10; i++)
        expectError(await signin(`2001:db8:77:1::${(i + 1).toString(16)}`), 401, "invalid_credentials")
      expectRateLimited(await signin("2001:0db8:0077:0001:ffff:1:2:3"), 10)
      expectError(await signin("2001:db8:77:2::1"), 401, "invalid_credentials")
    })
  })

  // The queue's bound itself (refusals before any queued hash is done, at most workers + queue accepted) is measured
  // without HTTP in password.test.ts: here the client shares the server's event loop, so timings measure HTTP.
  it("the hash queue is bounded: a flood of password requests gets 503 with Retry-After; sessions are served (finding 4)", async () => {
    const victim = await signUp(flooded)
    const attacker = await signUp(flooded)
    const client = new CheckedClient(flooded.base)
    const flood = Array.from({ length: 300 }, () =>
      client.post(
        "/change-password",
        { current_password: wrongPassword, new_password: newPassword },
        { token: attacker.token, cookies: false },
      ),
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    const [sessionMs, session] = await timed(() => client.get("/session", { token: victim.token, cookies: false }))
    const results = await Promise.all(flood)
    expect(session.status).toBe(200)
    expect(sessionMs).toBeLessThan(1_500)

    const refused = results.filter((r) => r.status === 503)
    expect(refused.length + results.filter((r) => r.status === 401).length).toBe(results.length)
    // Two workers and four waiting: most of the flood was refused rather than queued.
    expect(refused.length).toBeGreaterThan(150)
    for (const response of refused) {
      expectError(response, 503, "unavailable")
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    }
    expect((await client.post("/signin", { email: victim.email, password: strongPassword })).status).toBe(200)
  }, 90_000)

  it("rate-limit and lockout keys hold no email, username or address, not even their plain SHA-256 (finding 12)", async () => {
    const rows = [
      ...(await query(lockout.databaseUrl, "SELECT key FROM authsome_rate_limits")),
      ...(await query(limited.databaseUrl, "SELECT key FROM authsome_rate_limits")),
    ]
    expect(rows.length).toBeGreaterThan(20)
    const keys = rows.map((row) => String(row["key"]))
    for (const value of typed) {
      for (const form of [value, value.toLowerCase(), sha256(value), sha256(value.toLowerCase())]) {
        expect(
          keys.filter((key) => key.includes(form)),
          form,
        ).toEqual([])
      }
    }
    for (const key of keys) expect(key).not.toMatch(/@|\d+\.\d+\.\d+\.\d+|[0-9a-f]{4}:[0-9a-f]{0,4}:/i)
  })
})
