/**
 * Black-box security tests of the abuse limits (http-api.md §1 "Client IP", §3 "Sign-in" and "Rate limits"): the
 * sign-in lockout, rate limits shared by instances, and which client address and scheme the server believes.
 *
 * Loopback is a trusted proxy by default, so on the `lockout` and `limited` servers a test picks its client address
 * with `X-Forwarded-For` (a distinct one per test keeps the tests independent). The `direct` server trusts no proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { AuthsomeOptions as AuthsomeConfig } from "../../src/authsome.js"
import { type ApiResponse, type TestServer, startServer, strongPassword, uniqueEmail } from "../support/http.js"
import { CheckedClient, expectError, query, setCookiesOf, stableHeaders } from "../support/security.js"

const wrongPassword = "not the right passphrase"
const lockoutSeconds = 15 * 60

const integerHeader = (response: ApiResponse, name: string) => {
  const value = response.headers.get(name)
  expect(value, name).toMatch(/^\d+$/)
  return Number(value)
}

/** 429 `rate_limited` with `Retry-After` and the `RateLimit-*` headers of the exhausted rule. */
const expectRateLimited = (response: ApiResponse, limit: number) => {
  expectError(response, 429, "rate_limited")
  expect(response.setCookies).toEqual([])
  const retryAfter = integerHeader(response, "retry-after")
  expect(retryAfter).toBeGreaterThanOrEqual(1)
  expect(retryAfter).toBeLessThanOrEqual(60)
  expect(integerHeader(response, "ratelimit-limit")).toBe(limit)
  expect(integerHeader(response, "ratelimit-remaining")).toBe(0)
  expect(integerHeader(response, "ratelimit-reset")).toBe(retryAfter)
}

describe("HTTP abuse limits", () => {
  /** Lockout on, rate limits off. */
  let lockout: TestServer
  /** Rate limits on (two instances on one database). */
  let limited: TestServer
  let limited2: TestServer
  /** Rate limits on, no trusted proxy. */
  let direct: TestServer

  const noVerification: AuthsomeConfig = { emailVerification: { required: false } }
  const rateLimited: AuthsomeConfig = { ...noVerification, rateLimit: { enabled: true } }

  beforeAll(async () => {
    ;[lockout, limited, direct] = await Promise.all([
      startServer({ config: { ...noVerification, lockout: { enabled: true } } }),
      startServer({ config: rateLimited }),
      startServer({ config: { ...rateLimited, trustedProxies: [] } }),
    ])
    limited2 = await startServer({ config: rateLimited, databaseUrl: limited.databaseUrl, smtp: limited.smtp })
  })
  afterAll(async () => {
    await limited2?.close()
    await Promise.all([lockout?.close(), limited?.close(), direct?.close()])
  })

  let ipCounter = 0
  /** A distinct documentation address (RFC 5737) per call. */
  const nextIp = () => {
    ipCounter++
    return `198.51.100.${ipCounter % 250}`
  }
  const from = (ip: string, headers: Record<string, string> = {}) => ({
    headers: { "x-forwarded-for": ip, ...headers },
  })

  /** Signs up (verification off: signed in at once) from `ip`. */
  const signUp = async (server: TestServer, ip = nextIp()) => {
    const email = uniqueEmail("limits")
    const response = await new CheckedClient(server.base).post("/signup", { email, password: strongPassword }, from(ip))
    expect(response.status).toBe(201)
    return { email, id: response.body.user.id as string, sessionToken: response.body.session_token as string }
  }
  const signIn = (server: TestServer, email: string, password: string, ip?: string) =>
    new CheckedClient(server.base).post("/signin", { email, password }, ip === undefined ? {} : from(ip))

  describe("lockout", () => {
    it("after 5 wrong passwords the 6th attempt is 429 account_locked, even with the right password", async () => {
      const user = await signUp(lockout)
      for (let i = 0; i < 5; i++) {
        const failed = await signIn(lockout, user.email, wrongPassword)
        expectError(failed, 401, "invalid_credentials")
        expect(failed.headers.get("retry-after")).toBe(null)
      }
      const locked = await signIn(lockout, user.email, strongPassword)
      expectError(locked, 429, "account_locked")
      expect(locked.setCookies).toEqual([])
      const retryAfter = integerHeader(locked, "retry-after")
      expect(retryAfter).toBeGreaterThan(lockoutSeconds - 10)
      expect(retryAfter).toBeLessThanOrEqual(lockoutSeconds)
      // However the address is written.
      expectError(await signIn(lockout, `  ${user.email.toUpperCase()} `, strongPassword), 429, "account_locked")
      const events = await query(
        lockout.databaseUrl,
        "SELECT type FROM authsome_audit_events WHERE user_id = $1 AND type = 'auth.account_locked'",
        [user.id],
      )
      expect(events.length).toBe(1)

      // The lock is per identifier: another account signs in.
      const other = await signUp(lockout)
      expect((await signIn(lockout, other.email, strongPassword)).status).toBe(200)
    })

    it("an unknown email is locked the same way, so a lock reveals nothing", async () => {
      const user = await signUp(lockout)
      const unknown = uniqueEmail("ghost")
      for (let i = 0; i < 5; i++) {
        const known = await signIn(lockout, user.email, wrongPassword)
        const ghost = await signIn(lockout, unknown, wrongPassword)
        expectError(ghost, 401, "invalid_credentials")
        expect(ghost.body).toEqual(known.body)
      }
      const knownLocked = await signIn(lockout, user.email, strongPassword)
      const ghostLocked = await signIn(lockout, unknown, strongPassword)
      expectError(ghostLocked, 429, "account_locked")
      expect(ghostLocked.body).toEqual(knownLocked.body)
      expect(stableHeaders(ghostLocked, ["retry-after"])).toEqual(stableHeaders(knownLocked, ["retry-after"]))
      expect(
        Math.abs(integerHeader(ghostLocked, "retry-after") - integerHeader(knownLocked, "retry-after")),
      ).toBeLessThanOrEqual(2)
    })
  })

  describe("rate limits", () => {
    it("the 11th sign-in per minute from one IP is 429 rate_limited, on either instance", async () => {
      const users = [await signUp(limited), await signUp(limited), await signUp(limited)]
      const ip = "203.0.113.7"
      const perUser = new Map<string, number>()
      for (let i = 0; i < 10; i++) {
        // 4 + 3 + 3 sign-ins, alternating instances: the counters are shared.
        const user = users[i < 4 ? 0 : i < 7 ? 1 : 2]!
        const response = await signIn(i % 2 === 0 ? limited : limited2, user.email, strongPassword, ip)
        expect(response.status).toBe(200)
        perUser.set(user.email, (perUser.get(user.email) ?? 0) + 1)
        // The tightest of the two rules (10 per IP, 5 per identifier) is reported.
        const ipRemaining = 10 - (i + 1)
        const idRemaining = 5 - perUser.get(user.email)!
        const remaining = integerHeader(response, "ratelimit-remaining")
        expect(remaining).toBe(Math.min(ipRemaining, idRemaining))
        const limit = integerHeader(response, "ratelimit-limit")
        expect((remaining === ipRemaining && limit === 10) || (remaining === idRemaining && limit === 5)).toBe(true)
        const reset = integerHeader(response, "ratelimit-reset")
        expect(reset).toBeGreaterThanOrEqual(0)
        expect(reset).toBeLessThanOrEqual(60)
      }
      expectRateLimited(await signIn(limited, uniqueEmail("eleventh"), wrongPassword, ip), 10)
      // Even the right password of an account that has sign-ins to spare.
      const spare = await signUp(limited)
      expectRateLimited(await signIn(limited2, spare.email, strongPassword, ip), 10)
      // Another address is not affected.
      expect((await signIn(limited, spare.email, strongPassword, "203.0.113.8")).status).toBe(200)
      expectError(await signIn(limited2, uniqueEmail(), wrongPassword, "203.0.113.8"), 401, "invalid_credentials")
    })

    it("the 6th sign-in per minute of one identifier is 429, whatever the address", async () => {
      const user = await signUp(limited)
      for (let i = 0; i < 5; i++) {
        expect((await signIn(limited, user.email, strongPassword, nextIp())).status).toBe(200)
      }
      expectRateLimited(await signIn(limited2, user.email, strongPassword, nextIp()), 5)
    })

    it("forgot-password: the 4th request per minute for one email is 429, known or not", async () => {
      const client = new CheckedClient(limited.base)
      const unknown = uniqueEmail("nobody")
      for (let i = 0; i < 3; i++) {
        const response = await client.post("/forgot-password", { email: unknown }, from(nextIp()))
        expect(response.status).toBe(200)
        expect(response.body).toEqual({ status: "ok" })
        expect(integerHeader(response, "ratelimit-limit")).toBe(3)
      }
      expectRateLimited(await client.post("/forgot-password", { email: unknown }, from(nextIp())), 3)
    })
  })

  describe("client address and scheme", () => {
    const sessionIp = async (server: TestServer, token: string) => {
      const response = await new CheckedClient(server.base).get("/session", { token, cookies: false })
      expect(response.status).toBe(200)
      return response.body.session.ip_address as string | null
    }

    it("behind a trusted proxy the client is the right-most untrusted X-Forwarded-For hop", async () => {
      const user = await signUp(limited, "203.0.113.20")
      expect(await sessionIp(limited, user.sessionToken)).toBe("203.0.113.20")
      for (const [forwarded, client] of [
        ["10.1.2.3, 203.0.113.21", "203.0.113.21"], // a hop the client wrote itself is ignored
        ["203.0.113.22, 127.0.0.1", "203.0.113.22"], // trusted hops are skipped
        ["garbage, 203.0.113.23", "203.0.113.23"],
      ] as const) {
        const response = await signIn(limited, user.email, strongPassword, forwarded)
        expect(response.status).toBe(200)
        expect(await sessionIp(limited, response.body.session_token)).toBe(client)
      }
    })

    it("X-Forwarded-Proto https from a trusted proxy makes the cookies __Host-/__Secure- and Secure", async () => {
      const user = await signUp(limited)
      const https = from(nextIp(), { "x-forwarded-proto": "https" })
      const client = new CheckedClient(limited.base)
      const response = await client.post("/signin", { email: user.email, password: strongPassword }, https)
      expect(response.status).toBe(200)
      const cookies = setCookiesOf(response)
      expect([...cookies.keys()].sort()).toEqual(["__Host-authsome_session_token", "__Secure-authsome_refresh_token"])
      const session = cookies.get("__Host-authsome_session_token")!
      const refresh = cookies.get("__Secure-authsome_refresh_token")!
      expect(session.value).toBe(response.body.session_token)
      expect(session.attributes.get("path")).toBe("/")
      expect(session.attributes.has("domain")).toBe(false)
      expect(refresh.attributes.get("path")).toBe("/v1/auth/refresh")
      for (const cookie of [session, refresh]) {
        expect(cookie.attributes.has("secure")).toBe(true)
        expect(cookie.attributes.has("httponly")).toBe(true)
      }
      const token = response.body.session_token as string
      const withCookie = (cookie: string, headers: Record<string, string>) =>
        client.get("/session", { cookies: false, headers: { ...headers, cookie } })
      expect((await withCookie(`__Host-authsome_session_token=${token}`, https.headers)).status).toBe(200)
      // Over HTTPS only the prefixed name counts; over HTTP only the plain one.
      expectError(await withCookie(`authsome_session_token=${token}`, https.headers), 401, "unauthorized")
      expectError(await withCookie(`__Host-authsome_session_token=${token}`, {}), 401, "unauthorized")
    })

    it("an untrusted peer's X-Forwarded-For and X-Forwarded-Proto are ignored", async () => {
      const signup = await new CheckedClient(direct.base).post(
        "/signup",
        { email: uniqueEmail("direct"), password: strongPassword },
        from("203.0.113.30", { "x-forwarded-proto": "https" }),
      )
      expect(signup.status).toBe(201)
      expect([...setCookiesOf(signup).keys()].sort()).toEqual(["authsome_refresh_token", "authsome_session_token"])
      for (const cookie of setCookiesOf(signup).values()) expect(cookie.attributes.has("secure")).toBe(false)
      expect(await sessionIp(direct, signup.body.session_token)).toBe("127.0.0.1")

      // Every request comes from 127.0.0.1 whatever it claims: the 11th sign-in is limited.
      for (let i = 0; i < 10; i++) {
        expectError(
          await signIn(direct, uniqueEmail(), wrongPassword, `203.0.113.${100 + i}`),
          401,
          "invalid_credentials",
        )
      }
      expectRateLimited(await signIn(direct, uniqueEmail(), wrongPassword, "203.0.113.200"), 10)
    })
  })
})
