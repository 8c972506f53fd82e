/**
 * Black-box security tests of the HTTP contract (http-api.md §1, §3): account enumeration, refresh-token reuse,
 * cookies, revocation across instances, CSRF and CORS, bad input, tenant isolation, weak passwords and secrets at
 * rest. Rate limits and lockout are in security-limits.test.ts.
 *
 * Server A (email verification required, lockout off, rate limits off) has a second instance B on the same
 * database, and a third engine O on that database whose default app is another app ("other").
 */
import { createHash } from "node:crypto"
import { request as httpRequest } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { AuthsomeOptions as AuthsomeConfig } from "../../src/authsome.js"
import {
  type ApiResponse,
  type TestServer,
  signUpAndSignIn,
  startServer,
  strongPassword,
  uniqueEmail,
} from "../support/http.js"
import {
  CheckedClient,
  compareTimings,
  eventually,
  expectError,
  expectInvalidRequest,
  expectNoStore,
  expectSecurityHeaders,
  headerEntries,
  query,
  setCookiesOf,
  stableHeaders,
} from "../support/security.js"
import { verificationOf } from "../support/smtp.js"

const trustedOrigin = "https://app.example.com"
/** The server's own origin: that of `publicUrl` (never derived from the Host header). */
const ownOrigin = "https://auth.example.com"
const evilOrigin = "https://evil.example"
const tokenTtlSeconds = 10 * 60
const refreshTtlSeconds = 7 * 24 * 3600

const config: AuthsomeConfig = {
  publicUrl: ownOrigin,
  trustedOrigins: [trustedOrigin],
  lockout: { enabled: false },
  session: { tokenTtl: `${tokenTtlSeconds} seconds`, refreshTokenTtl: `${refreshTtlSeconds} seconds` },
}

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex")
const otherPassword = "a different long passphrase 42"

/**
 * POSTs `body` in 8 KiB chunks with `Transfer-Encoding: chunked` (no Content-Length); resolves on the response, or
 * with status 0 and the error when the connection ends without one.
 */
const postChunked = (url: string, body: string) =>
  new Promise<{ status: number; headers: Headers; body: unknown; error?: string }>((resolve) => {
    const request = httpRequest(url, {
      method: "POST",
      headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
    })
    let answered = false
    request.on("response", (response) => {
      answered = true
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () => {
        const headers = new Headers()
        for (const [name, value] of Object.entries(response.headers)) {
          if (typeof value === "string") headers.set(name, value)
        }
        resolve({ status: response.statusCode ?? 0, headers, body: JSON.parse(Buffer.concat(chunks).toString()) })
      })
    })
    // The server may answer 413 and close before the whole body is written.
    request.on("error", (error) => {
      if (!answered) resolve({ status: 0, headers: new Headers(), body: undefined, error: String(error) })
    })
    const bytes = Buffer.from(body)
    for (let i = 0; i < bytes.length; i += 8192) request.write(bytes.subarray(i, i + 8192))
    request.end()
  })

describe("HTTP security", () => {
  let a: TestServer
  let b: TestServer
  let other: TestServer

  beforeAll(async () => {
    a = await startServer({ config })
    ;[b, other] = await Promise.all([
      startServer({ config, databaseUrl: a.databaseUrl, smtp: a.smtp }),
      startServer({ config: { ...config, appId: "other" }, databaseUrl: a.databaseUrl, smtp: a.smtp }),
    ])
  })
  afterAll(async () => {
    await Promise.all([b?.close(), other?.close()])
    await a?.close()
  })

  const clientOf = (server: TestServer) => new CheckedClient(server.base)
  /** A verified user signed in on A through `client` (whose jar then holds the cookies). */
  const signedIn = async (client = clientOf(a), label = "user") => {
    const result = await signUpAndSignIn(a, client, uniqueEmail(label))
    expect(typeof result.session_token).toBe("string")
    return result as {
      email: string
      user: { id: string }
      session_token: string
      refresh_token: string
      expires_at: string
      refresh_token_expires_at: string
    }
  }
  const bearer = (token: string) => ({ token, cookies: false }) as const
  const sessionOf = async (server: TestServer, token: string) => clientOf(server).get("/session", bearer(token))
  const signIn = (email: string, password = strongPassword, server = a) =>
    clientOf(server).post("/signin", { email, password })

  describe("enumeration", () => {
    it("sign-up of a registered email answers like a new one, changes nothing, and takes about as long", async () => {
      const existing = await signedIn(clientOf(a), "taken")
      const before = await query(
        a.databaseUrl,
        `SELECT u.updated_at, u.email_verified, h.hash, (SELECT count(*) FROM authsome_sessions s WHERE s.user_id = u.id) AS sessions
         FROM authsome_users u JOIN authsome_password_hashes h ON h.user_id = u.id WHERE u.id = $1`,
        [existing.user.id],
      )

      const client = clientOf(a)
      const fresh = await client.post("/signup", { email: uniqueEmail("fresh"), password: otherPassword })
      const duplicate = await client.post("/signup", { email: existing.email, password: otherPassword })
      for (const response of [fresh, duplicate]) {
        expect(response.status).toBe(201)
        expect(Object.keys(response.body).sort()).toEqual(["user", "verification_required"])
        expect(response.body.verification_required).toBe(true)
        expect(response.setCookies).toEqual([])
        expectNoStore(response)
      }
      expect(Object.keys(duplicate.body.user).sort()).toEqual(Object.keys(fresh.body.user).sort())
      expect(stableHeaders(duplicate, ["content-length"])).toEqual(stableHeaders(fresh, ["content-length"]))
      // Nothing of the real account shows through.
      expect(duplicate.body.user.email).toBe(existing.email)
      expect(duplicate.body.user.id).toMatch(/^ausr_[0-9a-z]{26}$/)
      expect(duplicate.body.user.id).not.toBe(existing.user.id)
      expect(duplicate.body.user.email_verified).toBe(false)

      // No account change: one user with that email, same row, same hash, no new session.
      const users = await query(a.databaseUrl, "SELECT id FROM authsome_users WHERE email = $1", [existing.email])
      expect(users.map((u) => u["id"])).toEqual([existing.user.id])
      const after = await query(
        a.databaseUrl,
        `SELECT u.updated_at, u.email_verified, h.hash, (SELECT count(*) FROM authsome_sessions s WHERE s.user_id = u.id) AS sessions
         FROM authsome_users u JOIN authsome_password_hashes h ON h.user_id = u.id WHERE u.id = $1`,
        [existing.user.id],
      )
      expect(after).toEqual(before)
      const original = await signIn(existing.email)
      expect(original.status).toBe(200)
      expect(original.body.user.id).toBe(existing.user.id)
      expectError(await signIn(existing.email, otherPassword), 401, "invalid_credentials")

      // About the same time: both hash the password (the bulk of the work). A new account also writes the user, its
      // role, the verification and the mail (about 10 ms, some 20 % on a quiet machine), hence the wider tolerance.
      const timing = await compareTimings(
        () => client.post("/signup", { email: uniqueEmail("timing"), password: otherPassword }),
        () => client.post("/signup", { email: existing.email, password: otherPassword }),
        { samples: 6, rounds: 5, tolerance: 0.4 },
      )
      expect(timing.gap, JSON.stringify(timing)).toBeLessThanOrEqual(0.4)
    })

    it("sign-in of an unknown user and with a wrong password: same status, body, headers and time", async () => {
      const known = await signedIn(clientOf(a), "known")
      const unknownEmail = uniqueEmail("unknown")
      const client = clientOf(a)
      const wrong = await client.post("/signin", { email: known.email, password: otherPassword })
      const unknown = await client.post("/signin", { email: unknownEmail, password: otherPassword })
      expectError(wrong, 401, "invalid_credentials")
      expect(unknown.status).toBe(wrong.status)
      expect(unknown.body).toEqual(wrong.body)
      expect(stableHeaders(unknown)).toEqual(stableHeaders(wrong))
      expect(unknown.setCookies).toEqual([])
      expect(wrong.setCookies).toEqual([])

      const timing = await compareTimings(
        () => client.post("/signin", { email: unknownEmail, password: otherPassword }),
        () => client.post("/signin", { email: known.email, password: otherPassword }),
        { samples: 12, rounds: 5, tolerance: 0.25 },
      )
      expect(timing.gap, JSON.stringify(timing)).toBeLessThanOrEqual(0.25)
    })

    it("forgot-password and resend answer the same for known and unknown emails", async () => {
      const known = await signedIn(clientOf(a), "forgot")
      const unverified = uniqueEmail("unverified")
      const client = clientOf(a)
      expect((await client.post("/signup", { email: unverified, password: strongPassword })).status).toBe(201)
      for (const path of ["/forgot-password", "/verify-email/resend"]) {
        const responses: Array<ApiResponse> = []
        for (const email of [known.email, unverified, uniqueEmail("nobody")]) {
          responses.push(await client.post(path, { email }))
        }
        for (const response of responses) {
          expect(response.status).toBe(200)
          expect(response.body).toEqual({ status: "ok" })
          expect(stableHeaders(response)).toEqual(stableHeaders(responses[0]!))
        }
      }
      // The answers were the same, but the known user really got the reset link.
      const reset = await a.smtp.waitFor(known.email, /reset/i)
      expect(verificationOf(reset).token.length).toBeGreaterThan(20)
    })
  })

  describe("refresh tokens", () => {
    it("a reused refresh token is rejected and revokes its whole family; other families live on", async () => {
      const first = await signedIn()
      const second = await signIn(first.email)
      expect(second.status).toBe(200)

      const client = clientOf(a)
      const rotated = await client.post("/refresh", { refresh_token: first.refresh_token }, { cookies: false })
      expect(rotated.status).toBe(200)
      expectNoStore(rotated)
      expect(Object.keys(rotated.body).sort()).toEqual([
        "expires_at",
        "refresh_token",
        "refresh_token_expires_at",
        "session_token",
      ])
      expect(rotated.body.session_token).not.toBe(first.session_token)
      expect(rotated.body.refresh_token).not.toBe(first.refresh_token)
      expect(rotated.setCookies).toEqual([]) // the refresh token came in the body
      const rotatedSession = await sessionOf(a, rotated.body.session_token)
      expect(rotatedSession.status).toBe(200)
      const sessionId: string = rotatedSession.body.session.id
      expectError(await sessionOf(a, first.session_token), 401, "unauthorized")

      // Rotated once more, then the first token again: not the last rotated, so reuse (the token rotated last,
      // presented again within the reuse grace, is refused without revoking — see refresh.test.ts).
      const again = await client.post("/refresh", { refresh_token: rotated.body.refresh_token }, { cookies: false })
      expect(again.status).toBe(200)
      const replay = await client.post("/refresh", { refresh_token: first.refresh_token }, { cookies: false })
      expectError(replay, 401, "invalid_credentials")
      expect(await query(a.databaseUrl, "SELECT id FROM authsome_sessions WHERE id = $1", [sessionId])).toEqual([])
      const events = await query(
        a.databaseUrl,
        "SELECT type FROM authsome_audit_events WHERE user_id = $1 AND type = 'auth.refresh_token_reused'",
        [first.user.id],
      )
      expect(events.length).toBe(1) // recorded by the replay itself
      expectError(await sessionOf(a, again.body.session_token), 401, "unauthorized")
      expectError(
        await client.post("/refresh", { refresh_token: again.body.refresh_token }, { cookies: false }),
        401,
        "invalid_credentials",
      )

      // The other sign-in is another family: untouched.
      expect((await sessionOf(a, second.body.session_token)).status).toBe(200)
      const otherRefresh = await client.post(
        "/refresh",
        { refresh_token: second.body.refresh_token },
        { cookies: false },
      )
      expect(otherRefresh.status).toBe(200)
      expect((await sessionOf(a, otherRefresh.body.session_token)).status).toBe(200)
    })

    it("of 20 concurrent refreshes with one token exactly one succeeds, and its session survives", async () => {
      const user = await signedIn()
      const client = clientOf(a)
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          client.post("/refresh", { refresh_token: user.refresh_token }, { cookies: false }),
        ),
      )
      const ok = results.filter((r) => r.status === 200)
      expect(ok.length).toBe(1)
      for (const failed of results.filter((r) => r.status !== 200)) expectError(failed, 401, "invalid_credentials")
      expectError(await sessionOf(a, user.session_token), 401, "unauthorized")
      expect((await sessionOf(a, ok[0]!.body.session_token)).status).toBe(200)
    })
  })

  describe("cookies", () => {
    const expectCookiePair = (response: ApiResponse, sessionToken: string, refreshToken: string) => {
      const cookies = setCookiesOf(response)
      expect([...cookies.keys()].sort()).toEqual(["authsome_refresh_token", "authsome_session_token"])
      const session = cookies.get("authsome_session_token")!
      const refresh = cookies.get("authsome_refresh_token")!
      expect(session.value).toBe(sessionToken)
      expect(refresh.value).toBe(refreshToken)
      for (const [cookie, path, ttl] of [
        [session, "/", tokenTtlSeconds],
        [refresh, "/v1/auth/refresh", refreshTtlSeconds],
      ] as const) {
        expect(cookie.attributes.get("path")).toBe(path)
        expect(cookie.attributes.has("httponly")).toBe(true)
        expect(cookie.attributes.get("samesite")?.toLowerCase()).toBe("lax")
        expect(cookie.attributes.has("secure")).toBe(false) // plain HTTP
        const maxAge = Number(cookie.attributes.get("max-age"))
        expect(maxAge).toBeGreaterThanOrEqual(ttl - 2)
        expect(maxAge).toBeLessThanOrEqual(ttl)
      }
    }

    it("sign-in sets both cookies; a cookie refresh rotates and sets both anew; sign-out clears them", async () => {
      const user = await signedIn()
      const client = clientOf(a)
      const signin = await client.post("/signin", { email: user.email, password: strongPassword })
      expect(signin.status).toBe(200)
      expectNoStore(signin)
      expectCookiePair(signin, signin.body.session_token, signin.body.refresh_token)

      // No body: the refresh token comes from the cookie.
      const refreshed = await client.post("/refresh", undefined, { headers: { origin: ownOrigin } })
      expect(refreshed.status).toBe(200)
      expectNoStore(refreshed)
      expect(refreshed.body.refresh_token).not.toBe(signin.body.refresh_token)
      expect(refreshed.body.session_token).not.toBe(signin.body.session_token)
      expectCookiePair(refreshed, refreshed.body.session_token, refreshed.body.refresh_token)
      expect(client.jar.get("authsome_session_token")).toBe(refreshed.body.session_token)

      // The new pair works; the old pair does not.
      expect((await client.get("/session")).status).toBe(200)
      expectError(await sessionOf(a, signin.body.session_token), 401, "unauthorized")
      const again = await client.post("/refresh", undefined, { headers: { origin: ownOrigin } })
      expect(again.status).toBe(200)
      expectError(
        await clientOf(a).post("/refresh", { refresh_token: refreshed.body.refresh_token }),
        401,
        "invalid_credentials",
      )
      // (that replay revoked the family, as it must; sign in again for the sign-out part)
      const fresh = await client.post("/signin", { email: user.email, password: strongPassword })
      expect(fresh.status).toBe(200)

      const signout = await client.post("/signout", undefined, { headers: { origin: ownOrigin } })
      expect(signout.status).toBe(200)
      expect(signout.body).toEqual({ status: "signed out" })
      const cleared = setCookiesOf(signout)
      expect([...cleared.keys()].sort()).toEqual(["authsome_refresh_token", "authsome_session_token"])
      expect(cleared.get("authsome_session_token")!.attributes.get("path")).toBe("/")
      expect(cleared.get("authsome_refresh_token")!.attributes.get("path")).toBe("/v1/auth/refresh")
      for (const cookie of cleared.values()) {
        expect(cookie.value).toBe("")
        expect(cookie.attributes.get("max-age")).toBe("0")
        expect(cookie.attributes.has("httponly")).toBe(true)
      }
      expectError(await sessionOf(a, fresh.body.session_token), 401, "unauthorized")
      expectError(
        await clientOf(a).post("/refresh", { refresh_token: fresh.body.refresh_token }),
        401,
        "invalid_credentials",
      )
    })

    it("a cookie refresh from a foreign origin is rejected and rotates nothing", async () => {
      const client = clientOf(a)
      const user = await signedIn(client)
      const refreshToken = client.jar.get("authsome_refresh_token")
      expect(refreshToken).toBe(user.refresh_token)
      expectError(await client.post("/refresh", undefined, { headers: { origin: evilOrigin } }), 403, "csrf_rejected")
      expectError(await client.post("/refresh"), 403, "csrf_rejected")
      expect((await sessionOf(a, user.session_token)).status).toBe(200)
      expect((await client.post("/refresh", undefined, { headers: { origin: trustedOrigin } })).status).toBe(200)
    })
  })

  describe("revocation across instances", () => {
    it("sign-out on A is rejected by B at once", async () => {
      const user = await signedIn()
      const onB = await sessionOf(b, user.session_token)
      expect(onB.status).toBe(200)
      expect(onB.body.user.id).toBe(user.user.id)
      expect((await clientOf(a).post("/signout", undefined, bearer(user.session_token))).status).toBe(200)
      expectError(await sessionOf(b, user.session_token), 401, "unauthorized")
      expectError(await sessionOf(a, user.session_token), 401, "unauthorized")
      expectError(await clientOf(b).post("/refresh", { refresh_token: user.refresh_token }), 401, "invalid_credentials")
    })

    it("DELETE /sessions/:id on A is rejected by B at once; the caller's session stays", async () => {
      const user = await signedIn()
      const other = await signIn(user.email)
      const otherSession = await sessionOf(b, other.body.session_token)
      expect(otherSession.status).toBe(200)
      const revoked = await clientOf(a).delete(`/sessions/${otherSession.body.session.id}`, bearer(user.session_token))
      expect(revoked.status).toBe(200)
      expect(revoked.body).toEqual({ status: "revoked" })
      expectError(await sessionOf(b, other.body.session_token), 401, "unauthorized")
      expect((await sessionOf(b, user.session_token)).status).toBe(200)
    })

    it("change-password on A revokes the other sessions on B at once (unless told not to)", async () => {
      const user = await signedIn()
      const other = await signIn(user.email)
      expect((await sessionOf(b, other.body.session_token)).status).toBe(200)
      const changed = await clientOf(a).post(
        "/change-password",
        { current_password: strongPassword, new_password: otherPassword },
        bearer(user.session_token),
      )
      expect(changed.status).toBe(200)
      expect(changed.body).toEqual({ status: "password changed" })
      expectError(await sessionOf(b, other.body.session_token), 401, "unauthorized")
      expect((await sessionOf(b, user.session_token)).status).toBe(200)
      expectError(await signIn(user.email, strongPassword, b), 401, "invalid_credentials")
      expect((await signIn(user.email, otherPassword, b)).status).toBe(200)

      const kept = await signIn(user.email, otherPassword)
      const unchanged = await clientOf(a).post(
        "/change-password",
        { current_password: otherPassword, new_password: strongPassword, revoke_other_sessions: false },
        bearer(user.session_token),
      )
      expect(unchanged.status).toBe(200)
      expect((await sessionOf(b, kept.body.session_token)).status).toBe(200)
    })

    it("account deletion on A is rejected by B at once", async () => {
      const user = await signedIn()
      const other = await signIn(user.email)
      expect((await clientOf(a).delete("/me", bearer(user.session_token))).status).toBe(200)
      expectError(await sessionOf(b, user.session_token), 401, "unauthorized")
      expectError(await sessionOf(b, other.body.session_token), 401, "unauthorized")
    })
  })

  describe("CSRF and CORS", () => {
    /** A client whose jar holds a fresh session's cookies. */
    const cookieClient = async () => {
      const client = clientOf(a)
      const user = await signedIn(client, "csrf")
      expect(client.jar.get("authsome_session_token")).toBe(user.session_token)
      return { client, user }
    }
    const firstName = async (client: CheckedClient) => (await client.get("/me")).body.first_name

    it("a cookie-authenticated write from a foreign origin is 403 csrf_rejected and changes nothing", async () => {
      const { client, user } = await cookieClient()
      const evil = { headers: { origin: evilOrigin } }
      expectError(await client.patch("/me", { first_name: "Mallory" }, evil), 403, "csrf_rejected")
      expect(await firstName(client)).toBe(null)
      expectError(
        await client.post("/change-password", { current_password: strongPassword, new_password: otherPassword }, evil),
        403,
        "csrf_rejected",
      )
      expect((await signIn(user.email, strongPassword)).status).toBe(200)
      expectError(await client.post("/signout", undefined, evil), 403, "csrf_rejected")
      expectError(await client.delete("/me", evil), 403, "csrf_rejected")
      const session = await client.get("/session")
      expect(session.status).toBe(200)
      expect(session.body.user.id).toBe(user.user.id)
      const sessionId: string = session.body.session.id
      expectError(await client.delete(`/sessions/${sessionId}`, evil), 403, "csrf_rejected")
      expect((await sessionOf(a, user.session_token)).status).toBe(200)

      // Lookalikes, another scheme, "null", and a foreign Origin with a trusted Referer: all rejected.
      for (const headers of [
        { origin: `${trustedOrigin}.evil.example` },
        { origin: "http://app.example.com" },
        { origin: "null" },
        { origin: evilOrigin, referer: `${trustedOrigin}/settings` },
        { referer: `${evilOrigin}/${trustedOrigin}` },
      ]) {
        expectError(await client.patch("/me", { first_name: "Mallory" }, { headers }), 403, "csrf_rejected")
      }
      expect(await firstName(client)).toBe(null)
    })

    it("a cookie-authenticated write without Origin and Referer is 403", async () => {
      const { client } = await cookieClient()
      expectError(await client.patch("/me", { first_name: "Mallory" }), 403, "csrf_rejected")
      expectError(await client.post("/signout"), 403, "csrf_rejected")
      expect(await firstName(client)).toBe(null)
      expect((await client.get("/session")).status).toBe(200)
    })

    it("the server's own origin, a trusted origin, or a trusted Referer are allowed", async () => {
      const { client, user } = await cookieClient()
      const own = await client.patch("/me", { first_name: "Own" }, { headers: { origin: ownOrigin } })
      expect(own.status).toBe(200)
      expect(own.body.first_name).toBe("Own")
      expectNoStore(own)
      const trusted = await client.patch("/me", { first_name: "Trusted" }, { headers: { origin: trustedOrigin } })
      expect(trusted.status).toBe(200)
      expect(trusted.body.first_name).toBe("Trusted")
      const referer = await client.patch(
        "/me",
        { first_name: "Referred" },
        { headers: { referer: `${trustedOrigin}/account?tab=profile` } },
      )
      expect(referer.status).toBe(200)
      expect(await firstName(client)).toBe("Referred")
      const signout = await client.post("/signout", undefined, { headers: { origin: trustedOrigin } })
      expect(signout.status).toBe(200)
      expectError(await sessionOf(a, user.session_token), 401, "unauthorized")
    })

    it("bearer-token requests are exempt", async () => {
      const user = await signedIn()
      const client = clientOf(a)
      const patched = await client.patch(
        "/me",
        { first_name: "Bearer" },
        { ...bearer(user.session_token), headers: { origin: evilOrigin } },
      )
      expect(patched.status).toBe(200)
      expect(patched.body.first_name).toBe("Bearer")
      const signout = await client.post("/signout", undefined, {
        ...bearer(user.session_token),
        headers: { origin: evilOrigin },
      })
      expect(signout.status).toBe(200)
    })

    it("CORS: a trusted origin gets credentialed CORS headers, others get none", async () => {
      const client = clientOf(a)
      const preflight = (origin: string) =>
        client.request("OPTIONS", "/signin", {
          headers: {
            origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, x-publishable-key",
          },
        })
      const trusted = await preflight(trustedOrigin)
      expect(trusted.status).toBeLessThan(300)
      expect(trusted.headers.get("access-control-allow-origin")).toBe(trustedOrigin)
      expect(trusted.headers.get("access-control-allow-credentials")).toBe("true")
      const allowedHeaders = (trusted.headers.get("access-control-allow-headers") ?? "")
        .split(",")
        .map((h) => h.trim().toLowerCase())
      for (const header of ["content-type", "authorization", "x-publishable-key", "x-api-key"]) {
        expect(allowedHeaders).toContain(header)
      }
      expect(trusted.headers.get("access-control-allow-methods")).toContain("POST")

      const corsHeadersOf = (response: ApiResponse) =>
        headerEntries(response.headers)
          .map(([name]) => name)
          .filter((name) => name.startsWith("access-control-"))
      for (const origin of [evilOrigin, `${trustedOrigin}.evil.example`, "http://app.example.com", "null"]) {
        expect(corsHeadersOf(await preflight(origin)), origin).toEqual([])
        const actual = await client.post(
          "/signin",
          { email: uniqueEmail(), password: otherPassword },
          { headers: { origin } },
        )
        expectError(actual, 401, "invalid_credentials")
        expect(corsHeadersOf(actual), origin).toEqual([])
      }
      const actual = await client.post(
        "/signin",
        { email: uniqueEmail(), password: otherPassword },
        { headers: { origin: trustedOrigin } },
      )
      expect(actual.headers.get("access-control-allow-origin")).toBe(trustedOrigin)
      expect(actual.headers.get("access-control-allow-credentials")).toBe("true")
    })
  })

  describe("bad input", () => {
    it("malformed, missing, wrong-typed and invalid fields are 400 invalid_request with details", async () => {
      const client = clientOf(a)
      const malformed = await client.post("/signin", undefined, {
        rawBody: '{"email": "a@b.example", "password": ',
        headers: { "content-type": "application/json" },
      })
      expectError(malformed, 400, "invalid_request", ["details"])
      for (const raw of ["null", "[]", '"text"', "42"]) {
        const response = await client.post("/signup", undefined, {
          rawBody: raw,
          headers: { "content-type": "application/json" },
        })
        expectError(response, 400, "invalid_request", ["details"])
      }
      expectInvalidRequest(await client.post("/signup", { email: uniqueEmail() }), ["password"])
      expectInvalidRequest(await client.post("/signup", { password: strongPassword }), ["email"])
      expectInvalidRequest(await client.post("/signup", { email: 42, password: strongPassword }), ["email"])
      expectInvalidRequest(await client.post("/signup", { email: uniqueEmail(), password: ["x"] }), ["password"])
      expectInvalidRequest(
        await client.post("/signup", { email: uniqueEmail(), password: strongPassword, first_name: 7 }),
        ["first_name"],
      )
      for (const email of ["not-an-email", "a@b", "two@@example.com", "sp ace@example.com", ""]) {
        const response = await client.post("/signup", { email, password: strongPassword })
        expectInvalidRequest(response, ["email"])
      }
      expectInvalidRequest(await client.post("/signin", {}), ["email", "password"])
      expectInvalidRequest(await client.post("/refresh", { refresh_token: 5 }), ["refresh_token"])
      expectInvalidRequest(await client.post("/forgot-password", { email: "nope" }), ["email"])
    })

    it("a chunked body over 64 KiB (no Content-Length) is 413 too", async () => {
      // The limit holds on what is read, not only on what is declared.
      const streamed = await postChunked(
        `${a.base}/signup`,
        `{"email":"${uniqueEmail()}","password":"${"y".repeat(80 * 1024)}"}`,
      )
      expect(streamed.status, streamed.error).toBe(413)
      expect(streamed.body).toEqual({ error: expect.any(String), code: 413, type: "payload_too_large" })
      expectSecurityHeaders(streamed)
    })

    it("a body over 64 KiB is 413; a non-JSON body is 415", async () => {
      const client = clientOf(a)
      const big = { email: uniqueEmail(), password: strongPassword, metadata: { blob: "x".repeat(70 * 1024) } }
      expectError(await client.post("/signup", big), 413, "payload_too_large")

      const json = JSON.stringify({ email: uniqueEmail(), password: strongPassword })
      for (const contentType of [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
      ]) {
        const response = await client.post("/signin", undefined, {
          rawBody: json,
          headers: { "content-type": contentType },
        })
        expectError(response, 415, "unsupported_media_type")
      }
      const untyped = await fetch(`${a.base}/signin`, { method: "POST", body: new TextEncoder().encode(json) })
      expect(untyped.status).toBe(415)
      expect((await untyped.json()).type).toBe("unsupported_media_type")
    })

    it("unknown routes are 404 not_found", async () => {
      const client = clientOf(a)
      expectError(await client.get("/no-such-route"), 404, "not_found")
      expectError(await client.post("/signin/extra", {}), 404, "not_found")
      expectError(await client.get("/me/../../admin"), 404, "not_found")
      const outside = await fetch(`${a.origin}/v1/other`)
      expect(outside.status).toBe(404)
      expect(await outside.json()).toEqual({ error: expect.any(String), code: 404, type: "not_found" })
      expectSecurityHeaders(outside)
    })

    it("DELETE /sessions/:id: a wrong prefix or shape, an unknown id and another user's session are 404", async () => {
      const user = await signedIn()
      const victim = await signedIn()
      const victimSession = (await sessionOf(a, victim.session_token)).body.session.id as string
      const client = clientOf(a)
      const ownSession = (await sessionOf(a, user.session_token)).body.session.id as string
      const suffix = ownSession.slice("ases_".length)
      for (const id of [
        `ausr_${suffix}`,
        "ases_",
        `ases_${suffix}x`,
        `ases_${suffix.slice(1)}`,
        `ases_${suffix.toUpperCase()}`,
        "ases_00000000000000000000000000",
        "ases_zzzzzzzzzzzzzzzzzzzzzzzzzz",
        "1",
        "%E0%A4%A",
        "%00",
        "x".repeat(2000),
        encodeURIComponent("' OR 1=1 --"),
        victimSession,
      ]) {
        const response = await client.delete(`/sessions/${id}`, bearer(user.session_token))
        expectError(response, 404, "not_found")
      }
      expect((await sessionOf(a, victim.session_token)).status).toBe(200)
      expect((await sessionOf(a, user.session_token)).status).toBe(200)
    })

    it("malformed or oversized credentials are 401 unauthorized, never 500", async () => {
      const client = clientOf(a)
      for (const authorization of [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "bearer x",
        `Bearer ${"a".repeat(4000)}`,
      ]) {
        expectError(await client.get("/session", { headers: { authorization } }), 401, "unauthorized")
      }
      expectError(await client.get("/me", { headers: { cookie: "authsome_session_token=nope" } }), 401, "unauthorized")
      expectError(await client.post("/refresh", { refresh_token: "x".repeat(512) }), 401, "invalid_credentials")
      expectError(await client.post("/refresh", {}), 401, "invalid_credentials")
    })

    it("token and user responses are no-store", async () => {
      const client = clientOf(a)
      const user = await signedIn(client)
      for (const response of [
        await client.get("/me", bearer(user.session_token)),
        await client.get("/session", bearer(user.session_token)),
        await client.get("/sessions", bearer(user.session_token)),
        await client.get("/me/export", bearer(user.session_token)),
        await client.post("/signin", { email: user.email, password: strongPassword }),
        await client.post("/refresh", { refresh_token: user.refresh_token }, { cookies: false }),
      ]) {
        expect(response.status).toBe(200)
        expectNoStore(response)
      }
    })
  })

  describe("tenant isolation", () => {
    it("credentials of the default app are worthless under another app's publishable key", async () => {
      const otherKey = other.handlers.authsome.defaultApp.publishableKey
      const defaultKey = a.handlers.authsome.defaultApp.publishableKey
      expect(otherKey).not.toBe(defaultKey)
      const user = await signedIn()
      const client = clientOf(a)
      const asOther = { ...bearer(user.session_token), headers: { "x-publishable-key": otherKey } }

      expectError(await client.get("/session", asOther), 401, "unauthorized")
      expectError(await client.get("/me", asOther), 401, "unauthorized")
      expectError(await client.patch("/me", { first_name: "Tenant" }, asOther), 401, "unauthorized")
      expect((await client.post("/introspect", { token: user.session_token }, asOther)).body).toEqual({ active: false })
      // The other engine (whose default app is "other") treats it the same.
      expectError(await sessionOf(other, user.session_token), 401, "unauthorized")

      // A refresh under the wrong app fails and neither rotates nor revokes anything.
      expectError(
        await client.post(
          "/refresh",
          { refresh_token: user.refresh_token },
          { cookies: false, headers: { "x-publishable-key": otherKey } },
        ),
        401,
        "invalid_credentials",
      )
      expectError(
        await clientOf(other).post("/refresh", { refresh_token: user.refresh_token }, { cookies: false }),
        401,
        "invalid_credentials",
      )
      const withDefaultKey = await client.get("/session", {
        ...bearer(user.session_token),
        headers: { "x-publishable-key": defaultKey },
      })
      expect(withDefaultKey.status).toBe(200)
      expect((await client.post("/refresh", { refresh_token: user.refresh_token }, { cookies: false })).status).toBe(
        200,
      )

      // The password of the default app's user does not sign in to the other app.
      expectError(
        await client.post(
          "/signin",
          { email: user.email, password: strongPassword },
          { headers: { "x-publishable-key": otherKey } },
        ),
        401,
        "invalid_credentials",
      )
      expectError(await signIn(user.email, strongPassword, other), 401, "invalid_credentials")
    })

    it("an unknown publishable key is 401", async () => {
      const user = await signedIn()
      const client = clientOf(a)
      for (const key of [
        `pk_live_${"0".repeat(64)}`,
        "garbage",
        "",
        other.handlers.authsome.defaultApp.publishableKey.slice(0, -1),
      ]) {
        const headers = { "x-publishable-key": key }
        const signin = await client.post("/signin", { email: user.email, password: strongPassword }, { headers })
        expect(signin.status, `key ${JSON.stringify(key)}`).toBe(401)
        expectError(
          await client.post("/signin", { email: user.email, password: strongPassword }, { headers }),
          401,
          "unauthorized",
        )
        expectError(await client.get("/session", { ...bearer(user.session_token), headers }), 401, "unauthorized")
      }
    })
  })

  describe("weak passwords", () => {
    it("common, short, overlong and email-equal passwords are 400 weak_password naming the rule", async () => {
      const client = clientOf(a)
      const cases: ReadonlyArray<readonly [string | ((email: string) => string), RegExp]> = [
        ["password123", /common/i],
        ["PassWord123", /common/i],
        ["qwerty123", /common/i],
        ["short1", /at least 8 characters/i],
        ["\u00e9".repeat(7), /at least 8 characters/i], // 14 bytes, 7 characters
        ["x".repeat(257), /at most 256 characters/i],
        [(email) => email.toUpperCase(), /email/i],
      ]
      for (const [password, rule] of cases) {
        const email = uniqueEmail("weak")
        const response = await client.post("/signup", {
          email,
          password: typeof password === "string" ? password : password(email),
        })
        expectError(response, 400, "weak_password")
        expect(response.body.error).toMatch(rule)
        expect(await query(a.databaseUrl, "SELECT id FROM authsome_users WHERE email = $1", [email])).toEqual([])
      }
      // Eight two-byte characters are long enough.
      expect((await client.post("/signup", { email: uniqueEmail("eight"), password: "\u00e9".repeat(8) })).status).toBe(
        201,
      )

      const user = await signedIn()
      const change = await client.post(
        "/change-password",
        { current_password: strongPassword, new_password: "password123" },
        bearer(user.session_token),
      )
      expectError(change, 400, "weak_password")
      expect(change.body.error).toMatch(/common/i)
      expect((await signIn(user.email, strongPassword)).status).toBe(200)
      expectError(await signIn(user.email, "password123"), 401, "invalid_credentials")
    })
  })

  describe("secrets at rest", () => {
    it("the database holds only hashes of tokens and codes, and delivered mail is cleared", async () => {
      const client = clientOf(a)
      const email = uniqueEmail("rest")
      const password = "a secret passphrase at rest"
      expect((await client.post("/signup", { email, password })).status).toBe(201)
      const { code, token: linkToken } = verificationOf(await a.smtp.waitFor(email, /verif/i))
      expect(code).toMatch(/^\d{6}$/)
      const verified = await client.post("/verify-email", { email, code })
      expect(verified.status).toBe(200)
      const signin = await client.post("/signin", { email, password }, { cookies: false })
      expect(signin.status).toBe(200)
      const rotated = await client.post("/refresh", { refresh_token: signin.body.refresh_token }, { cookies: false })
      expect(rotated.status).toBe(200)
      expect((await client.post("/forgot-password", { email })).status).toBe(200)
      const resetToken = decodeURIComponent(verificationOf(await a.smtp.waitFor(email, /reset/i)).token)
      expect(resetToken.length).toBeGreaterThan(20)

      const secrets = {
        "verification link token": decodeURIComponent(linkToken),
        "session token (verify)": verified.body.session_token,
        "refresh token (verify)": verified.body.refresh_token,
        "session token (sign-in)": signin.body.session_token,
        "refresh token (sign-in)": signin.body.refresh_token,
        "session token (rotated)": rotated.body.session_token,
        "refresh token (rotated)": rotated.body.refresh_token,
        "reset token": resetToken,
        password,
      }
      // What is stored is the SHA-256 of each token.
      const userId: string = verified.body.user.id
      const sessions = await query(
        a.databaseUrl,
        "SELECT token_hash, refresh_token_hash FROM authsome_sessions WHERE user_id = $1",
        [userId],
      )
      expect(sessions.map((s) => s["token_hash"]).sort()).toEqual(
        [sha256(verified.body.session_token), sha256(rotated.body.session_token)].sort(),
      )
      expect(sessions.map((s) => s["refresh_token_hash"]).sort()).toEqual(
        [sha256(verified.body.refresh_token), sha256(rotated.body.refresh_token)].sort(),
      )
      const revoked = await query(a.databaseUrl, "SELECT token_hash FROM authsome_refresh_tokens WHERE user_id = $1", [
        userId,
      ])
      expect(revoked.map((r) => r["token_hash"])).toEqual([sha256(signin.body.refresh_token)])
      const verifications = await query(
        a.databaseUrl,
        "SELECT token_hash, code_hash FROM authsome_verifications WHERE email = $1",
        [email],
      )
      expect(verifications.map((v) => v["token_hash"])).toEqual([sha256(decodeURIComponent(linkToken))])
      expect(verifications[0]!["code_hash"]).toMatch(/^[0-9a-f]{64}$/)
      const resets = await query(a.databaseUrl, "SELECT token_hash FROM authsome_password_resets WHERE user_id = $1", [
        userId,
      ])
      expect(resets.map((r) => r["token_hash"])).toEqual([sha256(resetToken)])

      // Delivered mail keeps no subject or body.
      const delivered = await eventually(async () => {
        const rows = await query(a.databaseUrl, "SELECT status FROM authsome_notifications WHERE recipient = $1", [
          email,
        ])
        return rows.length === 2 && rows.every((r) => r["status"] === "sent")
      })
      expect(delivered).toBe(true)
      const notifications = await query(
        a.databaseUrl,
        "SELECT type, status, subject, body, html FROM authsome_notifications WHERE recipient = $1 ORDER BY type",
        [email],
      )
      expect(notifications).toEqual([
        { type: "email_verification", status: "sent", subject: null, body: null, html: null },
        { type: "password_reset", status: "sent", subject: null, body: null, html: null },
      ])

      // No plaintext secret anywhere in the database; the code not in the token tables either.
      const tables = await query(
        a.databaseUrl,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
      )
      expect(tables.length).toBeGreaterThan(10)
      for (const { table_name: table } of tables) {
        const rows = await query(a.databaseUrl, `SELECT * FROM "${table}"`)
        const values = rows.flatMap((row) =>
          Object.values(row)
            .filter((value) => value !== null && !(value instanceof Date))
            .map((value) => (typeof value === "string" ? value : JSON.stringify(value))),
        )
        for (const [name, secret] of Object.entries(secrets)) {
          expect(
            values.some((value) => value.includes(secret)),
            `${name} in ${table}`,
          ).toBe(false)
        }
      }
      // The 6-digit code, in this user's rows of the tables that hold codes and tokens.
      // (The verification was mailed for a pending sign-up, before the user existed: its rows name the address.)
      for (const [table, owner, params] of [
        ["authsome_sessions", "user_id = $1", [userId]],
        ["authsome_verifications", "email = $1", [email]],
        ["authsome_refresh_tokens", "user_id = $1", [userId]],
        ["authsome_notifications", "user_id = $1 OR recipient = $2", [userId, email]],
      ] as const) {
        const rows = await query(a.databaseUrl, `SELECT * FROM ${table} WHERE ${owner}`, params)
        expect(rows.length, table).toBeGreaterThan(0)
        const values = rows.flatMap((row) =>
          Object.values(row).filter((value): value is string => typeof value === "string"),
        )
        expect(
          values.some((value) => value.includes(code)),
          `code in ${table}`,
        ).toBe(false)
      }
    })
  })
})
