/**
 * The account routes of http-api.md §3 over real HTTP, on PostgreSQL, with mail delivered to a real SMTP server:
 * password reset and change, the profile (`/me`), sessions, devices, introspection, the discovery routes, mail
 * resilience and the audit trail.
 */
import { createHash } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Password from "../../src/plugins/password/index.js"
import { Client, type TestServer, startServer, strongPassword, uniqueEmail } from "../support/http.js"
import { TestSmtp, verificationOf } from "../support/smtp.js"

const chromeOnMac =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
const safariOnIphone =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

const userFields = [
  "app_id",
  "ban_expires",
  "ban_reason",
  "banned",
  "created_at",
  "email",
  "email_verified",
  "env_id",
  "first_name",
  "id",
  "image",
  "last_name",
  "metadata",
  "phone",
  "updated_at",
  "username",
]
const sessionFields = [
  "app_id",
  "created_at",
  "device_id",
  "env_id",
  "expires_at",
  "id",
  "impersonated_by",
  "ip_address",
  "last_activity_at",
  "org_id",
  "refresh_token_expires_at",
  "user_agent",
  "user_id",
]
const deviceFields = [
  "browser",
  "created_at",
  "id",
  "ip_address",
  "last_seen_at",
  "name",
  "os",
  "trusted",
  "type",
  "user_id",
]

const newPassword = "a completely different passphrase"
/** The sign-up event (named `auth.signup`; `user.created` in earlier versions of the engine). */
const signUpEvents = ["auth.signup", "user.created"]
const sha256 = (value: string) => createHash("sha256").update(value).digest("hex")
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Bearer authentication only, never the jar's cookies. */
const bearer = (token: string, headers: Record<string, string> = {}) => ({ token, cookies: false, headers })

/** The reset token of the newest reset mail to `email` (its link holds it, URL-encoded). */
const resetTokenFrom = async (server: TestServer, email: string, before: number) => {
  const deadline = Date.now() + 10_000
  for (;;) {
    const mail = server.smtp.received.slice(before).find((m) => m.to.includes(email) && /reset/i.test(m.subject))
    if (mail) {
      const match = /\/reset-password\?token=([A-Za-z0-9_%.~-]+)/.exec(mail.text)
      expect(match, mail.text).not.toBeNull()
      return { mail, token: decodeURIComponent(match![1]!) }
    }
    if (Date.now() > deadline) throw new Error(`no reset mail to ${email}`)
    await sleep(25)
  }
}

describe("accounts over HTTP (verification not required)", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({
      config: { emailVerification: { required: false }, publicUrl: "https://app.example.com" },
    })
  })
  afterAll(() => server?.close())

  const client = () => new Client(server.base)

  /** Signs up a new user (verification is off, so the sign-up signs in); returns the tokens and the email. */
  const signUp = async (options: { email?: string; userAgent?: string } = {}) => {
    const email = options.email ?? uniqueEmail("acct")
    const headers = options.userAgent ? { "user-agent": options.userAgent } : undefined
    const response = await client().post("/signup", { email, password: strongPassword }, headers ? { headers } : {})
    expect(response.status, JSON.stringify(response.body)).toBe(201)
    return { email, ...response.body } as {
      email: string
      user: any
      session_token: string
      refresh_token: string
    }
  }

  const signIn = async (email: string, password = strongPassword, userAgent?: string) => {
    const headers = userAgent ? { "user-agent": userAgent } : undefined
    const response = await client().post("/signin", { email, password }, headers ? { headers } : {})
    expect(response.status, JSON.stringify(response.body)).toBe(200)
    return response.body as { user: any; session_token: string; refresh_token: string }
  }

  const sessionStatus = async (token: string) => (await client().get("/session", bearer(token))).status

  const sessionIdOf = async (token: string) => {
    const response = await client().get("/session", bearer(token))
    expect(response.status).toBe(200)
    return response.body.session.id as string
  }

  describe("password reset through the mail", () => {
    it("mails a link whose token resets the password once, revoking every session", async () => {
      const { email, session_token: first, refresh_token: firstRefresh } = await signUp()
      const second = (await signIn(email)).session_token
      const before = server.smtp.received.length

      const forgot = await client().post("/forgot-password", { email: `  ${email.toUpperCase()}  ` })
      expect(forgot.status).toBe(200)
      expect(forgot.body).toEqual({ status: "ok" })
      const { mail, token } = await resetTokenFrom(server, email, before)
      expect(mail.text).toContain("https://app.example.com/reset-password?token=")
      expect(token.length).toBeGreaterThanOrEqual(43)

      // A weak password is refused and leaves the token usable.
      const weak = await client().post("/reset-password", { token, new_password: "short" })
      expect(weak.status).toBe(400)
      expect(weak.body.type).toBe("weak_password")
      const common = await client().post("/reset-password", { token, new_password: "password123" })
      expect(common.status).toBe(400)
      expect(common.body.type).toBe("weak_password")

      const reset = await client().post("/reset-password", { token, new_password: newPassword })
      expect(reset.status).toBe(200)
      expect(reset.body).toEqual({ status: "password reset" })

      // Every earlier session is gone at once.
      expect(await sessionStatus(first)).toBe(401)
      expect(await sessionStatus(second)).toBe(401)
      const refresh = await client().post("/refresh", { refresh_token: firstRefresh })
      expect(refresh.status).toBe(401)
      expect(refresh.body.type).toBe("invalid_credentials")

      const old = await client().post("/signin", { email, password: strongPassword })
      expect(old.status).toBe(401)
      expect(old.body.type).toBe("invalid_credentials")
      const fresh = await client().post("/signin", { email, password: newPassword })
      expect(fresh.status).toBe(200)
      expect(await sessionStatus(fresh.body.session_token)).toBe(200)

      // Single use.
      const again = await client().post("/reset-password", { token, new_password: "yet another fine passphrase" })
      expect(again.status).toBe(400)
      expect(again.body).toMatchObject({ code: 400, type: "invalid_code" })
      expect((await client().post("/signin", { email, password: newPassword })).status).toBe(200)
    })

    it("a newer reset mail voids the older token; unknown emails get the same answer and no mail", async () => {
      const { email } = await signUp()
      let before = server.smtp.received.length
      await client().post("/forgot-password", { email })
      const older = (await resetTokenFrom(server, email, before)).token
      before = server.smtp.received.length
      await client().post("/forgot-password", { email })
      const newer = (await resetTokenFrom(server, email, before)).token
      expect(newer).not.toBe(older)
      const stale = await client().post("/reset-password", { token: older, new_password: newPassword })
      expect(stale.status).toBe(400)
      expect(stale.body.type).toBe("invalid_code")
      expect((await client().post("/reset-password", { token: newer, new_password: newPassword })).status).toBe(200)

      const nobody = uniqueEmail("nobody")
      const unknown = await client().post("/forgot-password", { email: nobody })
      expect(unknown.status).toBe(200)
      expect(unknown.body).toEqual({ status: "ok" })
      const garbage = await client().post("/reset-password", { token: "not-a-real-token", new_password: newPassword })
      expect(garbage.status).toBe(400)
      expect(garbage.body.type).toBe("invalid_code")
      await sleep(300)
      expect(server.smtp.received.some((m) => m.to.includes(nobody))).toBe(false)
    })
  })

  describe("change-password", () => {
    it("rejects a wrong current password; on success revokes the other sessions and keeps this one", async () => {
      const { email, session_token: current } = await signUp()
      const { session_token: other, refresh_token: otherRefresh } = await signIn(email)

      const wrong = await client().post(
        "/change-password",
        { current_password: "not my password at all", new_password: newPassword },
        bearer(current),
      )
      expect(wrong.status).toBe(401)
      expect(wrong.body.type).toBe("invalid_credentials")
      expect(await sessionStatus(other)).toBe(200)

      const weak = await client().post(
        "/change-password",
        { current_password: strongPassword, new_password: "abc" },
        bearer(current),
      )
      expect(weak.status).toBe(400)
      expect(weak.body.type).toBe("weak_password")

      const changed = await client().post(
        "/change-password",
        { current_password: strongPassword, new_password: newPassword },
        bearer(current),
      )
      expect(changed.status).toBe(200)
      expect(changed.body).toEqual({ status: "password changed" })
      expect(await sessionStatus(current)).toBe(200)
      expect(await sessionStatus(other)).toBe(401)
      expect((await client().post("/refresh", { refresh_token: otherRefresh })).status).toBe(401)
      expect((await client().post("/signin", { email, password: strongPassword })).status).toBe(401)
      expect((await client().post("/signin", { email, password: newPassword })).status).toBe(200)
    })

    it("with revoke_other_sessions: false the other sessions survive", async () => {
      const { email, session_token: current } = await signUp()
      const other = (await signIn(email)).session_token
      const changed = await client().post(
        "/change-password",
        { current_password: strongPassword, new_password: newPassword, revoke_other_sessions: false },
        bearer(current),
      )
      expect(changed.status).toBe(200)
      expect(await sessionStatus(current)).toBe(200)
      expect(await sessionStatus(other)).toBe(200)
      expect((await client().post("/signin", { email, password: newPassword })).status).toBe(200)
    })

    it("needs a session", async () => {
      const response = await client().post("/change-password", {
        current_password: strongPassword,
        new_password: newPassword,
      })
      expect(response.status).toBe(401)
      expect(response.body.type).toBe("unauthorized")
    })
  })

  describe("/me", () => {
    it("GET returns exactly the User fields, nullable ones as null, no password material", async () => {
      const { email, session_token, user } = await signUp()
      const me = await client().get("/me", bearer(session_token))
      expect(me.status).toBe(200)
      expect(me.headers.get("cache-control")).toBe("no-store")
      expect(Object.keys(me.body).sort()).toEqual(userFields)
      expect(me.body).toMatchObject({
        id: user.id,
        email,
        email_verified: false,
        first_name: null,
        last_name: null,
        image: null,
        username: null,
        phone: null,
        banned: false,
        ban_reason: null,
        ban_expires: null,
        metadata: null,
      })
      expect(me.body.id).toMatch(/^ausr_[0-9a-z]{26}$/)
      expect(me.body.app_id).toMatch(/^aapp_/)
      expect(me.body.env_id).toMatch(/^aenv_/)
      expect(new Date(me.body.created_at).toISOString()).toBe(me.body.created_at)
      const text = JSON.stringify(me.body).toLowerCase()
      expect(text).not.toContain("password")
      expect(text).not.toContain("argon2")
      expect(text).not.toContain("hash")
    })

    it("PATCH updates the profile; a username of another user is 409 username_taken", async () => {
      const first = await signUp()
      const second = await signUp()
      const username = `u_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
      const patch = {
        first_name: "Ada",
        last_name: "Lovelace",
        image: "https://img.example.com/ada.png",
        username,
        metadata: { plan: "pro", tags: ["a", "b"], nested: { n: 1 } },
      }
      const updated = await client().patch("/me", patch, bearer(first.session_token))
      expect(updated.status, JSON.stringify(updated.body)).toBe(200)
      expect(Object.keys(updated.body).sort()).toEqual(userFields)
      expect(updated.body).toMatchObject({ id: first.user.id, ...patch })
      expect(new Date(updated.body.updated_at).getTime()).toBeGreaterThanOrEqual(
        new Date(first.user.updated_at).getTime(),
      )
      const me = await client().get("/me", bearer(first.session_token))
      expect(me.body).toMatchObject(patch)

      // Only the fields sent change; null clears a nullable field.
      const partial = await client().patch("/me", { last_name: null }, bearer(first.session_token))
      expect(partial.status).toBe(200)
      expect(partial.body).toMatchObject({ first_name: "Ada", last_name: null, username, image: patch.image })

      const taken = await client().patch("/me", { username }, bearer(second.session_token))
      expect(taken.status).toBe(409)
      expect(taken.body).toMatchObject({ code: 409, type: "username_taken" })
      expect((await client().get("/me", bearer(second.session_token))).body.username).toBeNull()
      // Usernames are unique regardless of case.
      const shouted = await client().patch("/me", { username: username.toUpperCase() }, bearer(second.session_token))
      expect(shouted.status).toBe(409)
      expect(shouted.body.type).toBe("username_taken")
      // Setting one's own username again is no conflict.
      expect((await client().patch("/me", { username }, bearer(first.session_token))).status).toBe(200)

      // The username signs in.
      const byUsername = await client().post("/signin", { username, password: strongPassword })
      expect(byUsername.status).toBe(200)
      expect(byUsername.body.user.id).toBe(first.user.id)

      // Fields that are not part of the profile are ignored, never assigned.
      const sneaky = await client().patch(
        "/me",
        { email: uniqueEmail("sneaky"), email_verified: true, banned: true, id: second.user.id, first_name: "Ada" },
        bearer(first.session_token),
      )
      expect(sneaky.status).toBe(200)
      expect(sneaky.body).toMatchObject({
        id: first.user.id,
        email: first.email,
        email_verified: false,
        banned: false,
      })

      const invalid = await client().patch("/me", { username: "x" }, bearer(first.session_token))
      expect(invalid.status).toBe(400)
      expect(invalid.body.type).toBe("invalid_request")
    })

    it("DELETE deletes the account: the session stops at once, sign-in fails, the email is free again", async () => {
      const { email, session_token, refresh_token, user } = await signUp()
      const other = (await signIn(email)).session_token
      const deleted = await client().delete("/me", bearer(session_token))
      expect(deleted.status).toBe(200)
      expect(deleted.body).toEqual({ status: "account deleted" })
      expect(deleted.setCookies.some((c) => /^authsome_session_token=;?.*max-age=0/i.test(c))).toBe(true)

      expect(await sessionStatus(session_token)).toBe(401)
      expect(await sessionStatus(other)).toBe(401)
      expect((await client().get("/me", bearer(session_token))).status).toBe(401)
      const signin = await client().post("/signin", { email, password: strongPassword })
      expect(signin.status).toBe(401)
      expect(signin.body.type).toBe("invalid_credentials")
      expect((await client().post("/refresh", { refresh_token })).status).toBe(401)

      // Soft delete: the row stays, anonymised (on the SQL stores, whose rows the test can read).
      if (server.sql) {
        const rows = await server.sql("SELECT email, deleted_at FROM authsome_users WHERE id = $1", [user.id])
        expect(rows).toHaveLength(1)
        expect(rows[0].deleted_at).not.toBeNull()
        expect(rows[0].email).not.toBe(email)
        const live = await server.sql("SELECT count(*)::int AS n FROM authsome_sessions WHERE user_id = $1", [user.id])
        expect(live[0].n).toBe(0)
      }

      const again = await signUp({ email })
      expect(again.user.id).not.toBe(user.id)
      expect(again.user.email).toBe(email)
      expect(await sessionStatus(again.session_token)).toBe(200)
    })

    it("GET /me/export returns the user, sessions, devices, organizations and audit events", async () => {
      const { email, session_token, user } = await signUp({ userAgent: chromeOnMac })
      await signIn(email, strongPassword, chromeOnMac)
      const exported = await client().get("/me/export", bearer(session_token))
      expect(exported.status).toBe(200)
      expect(exported.headers.get("cache-control")).toBe("no-store")
      expect(Object.keys(exported.body).sort()).toEqual([
        "audit_events",
        "devices",
        "organizations",
        "sessions",
        "user",
      ])
      const body = exported.body
      expect(body.user.id).toBe(user.id)
      expect(Object.keys(body.user).sort()).toEqual(userFields)
      expect(body.sessions).toHaveLength(2)
      for (const session of body.sessions) {
        expect(Object.keys(session).sort()).toEqual(sessionFields)
        expect(session.user_id).toBe(user.id)
      }
      expect(body.devices).toHaveLength(1)
      expect(body.devices[0]).toMatchObject({ browser: "Chrome", os: "macOS", user_id: user.id })
      expect(body.organizations).toEqual([])
      const types = body.audit_events.map((event: any) => event.type)
      expect(types.some((type: string) => signUpEvents.includes(type))).toBe(true)
      expect(types.filter((type: string) => type === "auth.signin")).toHaveLength(2)
      for (const event of body.audit_events) {
        expect(event.id).toMatch(/^aevt_/)
        expect(["success", "failure"]).toContain(event.outcome)
      }
      expect(JSON.stringify(body)).not.toContain(session_token)
    })
  })

  describe("sessions", () => {
    it("GET /sessions marks only the caller's session as current", async () => {
      const { email, session_token } = await signUp()
      await signIn(email)
      await signIn(email)
      const currentId = await sessionIdOf(session_token)
      const listed = await client().get("/sessions", bearer(session_token))
      expect(listed.status).toBe(200)
      expect(listed.body.sessions).toHaveLength(3)
      for (const session of listed.body.sessions) {
        expect(Object.keys(session).sort()).toEqual([...sessionFields, "current"].sort())
        expect(session.id).toMatch(/^ases_/)
      }
      const current = listed.body.sessions.filter((s: any) => s.current === true)
      expect(current.map((s: any) => s.id)).toEqual([currentId])
      expect(listed.body.sessions.filter((s: any) => s.current === false)).toHaveLength(2)
      // newest first
      const ids = listed.body.sessions.map((s: any) => s.id)
      expect([...ids].sort().reverse()).toEqual(ids)
    })

    it("DELETE /sessions/:id revokes another own session; another user's session is 404", async () => {
      const { email, session_token } = await signUp()
      const other = (await signIn(email)).session_token
      const otherId = await sessionIdOf(other)
      const stranger = await signUp()
      const strangerId = await sessionIdOf(stranger.session_token)

      const foreign = await client().delete(`/sessions/${strangerId}`, bearer(session_token))
      expect(foreign.status).toBe(404)
      expect(foreign.body.type).toBe("not_found")
      expect(await sessionStatus(stranger.session_token)).toBe(200)
      expect((await client().delete("/sessions/ases_nonsense", bearer(session_token))).status).toBe(404)
      expect((await client().delete(`/sessions/${stranger.user.id}`, bearer(session_token))).status).toBe(404)

      const revoked = await client().delete(`/sessions/${otherId}`, bearer(session_token))
      expect(revoked.status).toBe(200)
      expect(revoked.body).toEqual({ status: "revoked" })
      expect(await sessionStatus(other)).toBe(401)
      expect(await sessionStatus(session_token)).toBe(200)
      const listed = await client().get("/sessions", bearer(session_token))
      expect(listed.body.sessions.map((s: any) => s.id)).not.toContain(otherId)
      expect((await client().delete(`/sessions/${otherId}`, bearer(session_token))).status).toBe(404)
    })

    it("POST /sessions/revoke-others revokes every other session and counts them", async () => {
      const { email, session_token } = await signUp()
      const others = [(await signIn(email)).session_token, (await signIn(email)).session_token]
      const stranger = await signUp()
      const response = await client().post("/sessions/revoke-others", undefined, bearer(session_token))
      expect(response.status).toBe(200)
      expect(response.body).toEqual({ revoked: 2 })
      for (const token of others) expect(await sessionStatus(token)).toBe(401)
      expect(await sessionStatus(session_token)).toBe(200)
      expect(await sessionStatus(stranger.session_token)).toBe(200)
      const again = await client().post("/sessions/revoke-others", undefined, bearer(session_token))
      expect(again.body).toEqual({ revoked: 0 })
    })
  })

  describe("devices", () => {
    it("parses each User-Agent into a device; get, trust and delete it; another user's device is 404", async () => {
      const { email, session_token, user } = await signUp({ userAgent: chromeOnMac })
      const phone = await signIn(email, strongPassword, safariOnIphone)
      await signIn(email, strongPassword, chromeOnMac) // the same device again

      const listed = await client().get("/devices", bearer(session_token))
      expect(listed.status).toBe(200)
      const devices = listed.body.devices as Array<any>
      expect(devices).toHaveLength(2)
      for (const device of devices) {
        expect(Object.keys(device).sort()).toEqual(deviceFields)
        expect(device.id).toMatch(/^adev_/)
        expect(device.user_id).toBe(user.id)
        expect(device.trusted).toBe(false)
      }
      const mac = devices.find((d) => d.browser === "Chrome")
      const iphone = devices.find((d) => d.browser === "Safari")
      expect(mac).toMatchObject({ browser: "Chrome", os: "macOS", type: "desktop" })
      expect(iphone).toMatchObject({ browser: "Safari", os: "iOS", type: "mobile" })
      expect(mac.name).toContain("Chrome")

      // The session knows its device.
      const phoneSession = await client().get("/session", bearer(phone.session_token))
      expect(phoneSession.body.session.device_id).toBe(iphone.id)
      expect(phoneSession.body.session.user_agent).toBe(safariOnIphone)

      const one = await client().get(`/devices/${iphone.id}`, bearer(session_token))
      expect(one.status).toBe(200)
      expect(one.body).toEqual(iphone)

      const trusted = await client().patch(`/devices/${iphone.id}/trust`, undefined, bearer(session_token))
      expect(trusted.status).toBe(200)
      expect(Object.keys(trusted.body).sort()).toEqual(deviceFields)
      expect(trusted.body).toMatchObject({ id: iphone.id, trusted: true })
      expect((await client().get(`/devices/${iphone.id}`, bearer(session_token))).body.trusted).toBe(true)

      const stranger = await signUp({ userAgent: chromeOnMac })
      for (const [method, path] of [
        ["GET", `/devices/${mac.id}`],
        ["PATCH", `/devices/${mac.id}/trust`],
        ["DELETE", `/devices/${mac.id}`],
      ] as const) {
        const response = await client().request(method, path, bearer(stranger.session_token))
        expect(response.status, `${method} ${path}`).toBe(404)
        expect(response.body.type).toBe("not_found")
      }
      expect((await client().get(`/devices/${mac.id}`, bearer(session_token))).body.trusted).toBe(false)
      expect((await client().get("/devices/adev_123", bearer(session_token))).status).toBe(404)
      expect((await client().get(`/devices/${user.id}`, bearer(session_token))).status).toBe(404)

      const deleted = await client().delete(`/devices/${mac.id}`, bearer(session_token))
      expect(deleted.status).toBe(200)
      expect(deleted.body).toEqual({ status: "deleted" })
      expect((await client().get(`/devices/${mac.id}`, bearer(session_token))).status).toBe(404)
      const remaining = await client().get("/devices", bearer(session_token))
      expect(remaining.body.devices.map((d: any) => d.id)).toEqual([iphone.id])
    })
  })

  describe("introspect", () => {
    it("an active session token describes its session; garbage and revoked tokens are inactive", async () => {
      const { session_token, refresh_token, user } = await signUp()
      const session = (await client().get("/session", bearer(session_token))).body.session
      const active = await client().post("/introspect", { token: session_token })
      expect(active.status).toBe(200)
      expect(active.body).toMatchObject({
        active: true,
        token_type: "session",
        user_id: user.id,
        app_id: user.app_id,
        env_id: user.env_id,
        session_id: session.id,
        expires_at: session.expires_at,
      })
      expect(active.body.org_id ?? null).toBeNull()

      for (const token of ["garbage", "", "x".repeat(1000), refresh_token, "sk_nope"]) {
        const inactive = await client().post("/introspect", { token })
        expect(inactive.status, token).toBe(200)
        expect(inactive.body, token).toEqual({ active: false })
      }

      expect((await client().post("/signout", undefined, bearer(session_token))).status).toBe(200)
      const revoked = await client().post("/introspect", { token: session_token })
      expect(revoked.status).toBe(200)
      expect(revoked.body).toEqual({ active: false })
    })
  })

  describe("discovery", () => {
    it("client-config describes the app", async () => {
      const response = await client().get("/client-config")
      expect(response.status).toBe(200)
      const body = response.body
      expect(body.app_id).toBe(server.handlers.authsome.defaultApp.id)
      expect(body.app_id).toMatch(/^aapp_/)
      expect(body.signup_enabled).toBe(true)
      expect(body.password).toEqual({ enabled: true })
      expect(body.email_verification).toEqual({ required: false })
      expect(typeof body.social.enabled).toBe("boolean")
      expect(Array.isArray(body.social.providers)).toBe(true)
      expect(typeof body.mfa.enabled).toBe("boolean")
      expect(Array.isArray(body.mfa.methods)).toBe(true)
      expect(typeof body.passkey.enabled).toBe("boolean")
      expect(typeof body.magic_link.enabled).toBe("boolean")
    })

    it("health is 200 healthy with the security headers", async () => {
      const response = await client().get("/health")
      expect(response.status).toBe(200)
      expect(response.body).toEqual({ status: "healthy" })
      expect(response.headers.get("x-content-type-options")).toBe("nosniff")
      expect(response.headers.get("x-frame-options")).toBe("DENY")
      expect(response.headers.get("referrer-policy")).toBe("strict-origin-when-cross-origin")
    })

    it("/openapi.json is OpenAPI 3.1 with every route of the engine and its schemas", async () => {
      const response = await client().get("/openapi.json")
      expect(response.status).toBe(200)
      const doc = response.body
      expect(doc.openapi).toMatch(/^3\.1\./)
      expect(doc.info.title).toBeTruthy()
      const basePath = server.handlers.authsome.config.basePath
      // Every route but the reference page's own files.
      const routes = server.handlers.authsome.routes.filter((route) => !route.undocumented)
      const expected = routes.map((r) => `${r.method} ${basePath}${r.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`).sort()
      const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
        .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
        .sort()
      expect(documented).toEqual(expected)
      for (const method of ["POST /signup", "POST /signin", "GET /me", "PATCH /me", "DELETE /sessions/{id}"]) {
        expect(expected).toContain(method.replace(" ", ` ${basePath}`))
      }

      const resolve = (schema: any): any => {
        if (schema?.$ref) {
          const name = schema.$ref.replace("#/components/schemas/", "")
          expect(doc.components.schemas[name], schema.$ref).toBeDefined()
          return resolve(doc.components.schemas[name])
        }
        return schema
      }
      for (const route of routes) {
        const op = doc.paths[`${basePath}${route.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`][route.method.toLowerCase()]
        expect(op.responses, route.path).toBeDefined()
        const success = Object.keys(op.responses).filter((s) => s.startsWith("2"))
        expect(success.length, route.path).toBeGreaterThan(0)
        if (route.body) {
          expect(resolve(op.requestBody?.content?.["application/json"]?.schema), route.path).toBeDefined()
        }
        for (const [status, spec] of Object.entries(route.responses)) {
          if (spec.schema) expect(resolve(op.responses[status].content["application/json"].schema)).toBeDefined()
        }
        if (route.auth === "session") expect(op.responses["401"], route.path).toBeDefined()
        if (route.path.includes(":id")) expect(op.parameters?.[0]).toMatchObject({ name: "id", in: "path" })
      }
      // Concrete schemas: the User object and a request body.
      const user = resolve(doc.paths[`${basePath}/me`].get.responses["200"].content["application/json"].schema)
      expect(Object.keys(user.properties).sort()).toEqual(userFields)
      const signup = resolve(doc.paths[`${basePath}/signup`].post.requestBody.content["application/json"].schema)
      expect(signup.properties).toHaveProperty("email")
      expect(signup.properties).toHaveProperty("password")
      expect(signup.required).toEqual(expect.arrayContaining(["email", "password"]))
      const error = resolve(doc.paths[`${basePath}/me`].get.responses["401"].content["application/json"].schema)
      expect(Object.keys(error.properties).sort()).toEqual(["ban_expires", "code", "details", "error", "type"])
      expect([...error.required].sort()).toEqual(["code", "error", "type"])
    })
  })

  describe("sign-up without verification", () => {
    it("answers 201 Tokens with both cookies; a duplicate email is 409 email_taken", async () => {
      const email = uniqueEmail("noverify")
      const signup = await client().post("/signup", { email, password: strongPassword, first_name: "Grace" })
      expect(signup.status).toBe(201)
      expect(Object.keys(signup.body).sort()).toEqual([
        "expires_at",
        "refresh_token",
        "refresh_token_expires_at",
        "session_token",
        "user",
      ])
      expect(signup.body.user).toMatchObject({ email, first_name: "Grace", email_verified: false })
      expect(signup.body.session_token.length).toBeGreaterThanOrEqual(43)
      expect(signup.cookies["authsome_session_token"]).toBe(signup.body.session_token)
      expect(signup.cookies["authsome_refresh_token"]).toBe(signup.body.refresh_token)
      expect(signup.headers.get("cache-control")).toBe("no-store")
      expect(await sessionStatus(signup.body.session_token)).toBe(200)

      const duplicate = await client().post("/signup", { email: ` ${email.toUpperCase()}`, password: strongPassword })
      expect(duplicate.status).toBe(409)
      expect(duplicate.body).toMatchObject({ code: 409, type: "email_taken" })
      expect(duplicate.cookies).toEqual({})
      expect((await client().post("/signin", { email, password: strongPassword })).status).toBe(200)
    })
  })

  describe("audit trail", () => {
    it("records sign-up, sign-in (success and failure), sign-out, reset, change and deletion", async () => {
      const { email, user, session_token } = await signUp()
      const wrong = await client().post("/signin", { email, password: "definitely the wrong one" })
      expect(wrong.status).toBe(401)
      const nobody = uniqueEmail("ghost")
      expect((await client().post("/signin", { email: nobody, password: strongPassword })).status).toBe(401)
      const signedIn = await signIn(email)
      expect((await client().post("/signout", undefined, bearer(signedIn.session_token))).status).toBe(200)

      const before = server.smtp.received.length
      await client().post("/forgot-password", { email })
      const { token } = await resetTokenFrom(server, email, before)
      expect((await client().post("/reset-password", { token, new_password: newPassword })).status).toBe(200)
      const fresh = await signIn(email, newPassword)
      const changed = await client().post(
        "/change-password",
        { current_password: newPassword, new_password: strongPassword },
        bearer(fresh.session_token),
      )
      expect(changed.status).toBe(200)
      expect((await client().delete("/me", bearer(fresh.session_token))).status).toBe(200)
      expect(session_token).toBeTruthy()

      // The stored audit rows (on the SQL stores, whose rows the test can read).
      const sql = server.sql
      if (sql) {
        const rows = await sql(
          `SELECT id, type, outcome, reason, user_id, app_id, ip_address, metadata
             FROM authsome_audit_events WHERE user_id = $1 ORDER BY id`,
          [user.id],
        )
        const find = (type: string | ReadonlyArray<string>, outcome = "success") => {
          const types = typeof type === "string" ? [type] : type
          const row = rows.find((r) => types.includes(r.type) && r.outcome === outcome)
          expect(row, `${type}/${outcome} in ${rows.map((r) => r.type).join(", ")}`).toBeDefined()
          return row
        }
        expect(find(signUpEvents).metadata).toMatchObject({ method: "password" })
        // Every session starts at the sign-in chokepoint, whose event names the session it created.
        expect(rows.filter((r) => r.type === "auth.signin" && r.outcome === "success").length).toBeGreaterThanOrEqual(3)
        expect(find("auth.signin").metadata).toMatchObject({
          method: "password",
          session_id: expect.stringMatching(/^ases_/),
        })
        const failed = find("auth.signin.failed", "failure")
        expect(failed.reason).toBe("wrong_password")
        expect(failed.metadata).toMatchObject({ identifier_hash: sha256(email) })
        expect(find("auth.signout")).toBeDefined()
        expect(find("auth.password_reset_requested")).toBeDefined()
        expect(find("auth.password_reset").metadata).toMatchObject({ sessions_revoked: 1 })
        expect(find("auth.password_changed")).toBeDefined()
        expect(find("user.deleted")).toBeDefined()
        for (const row of rows) {
          expect(row.id).toMatch(/^aevt_/)
          expect(row.app_id).toBe(user.app_id)
          expect(row.ip_address).toBeTruthy()
        }
        // Time order: created, ..., deleted last.
        expect(signUpEvents).toContain(rows[0].type)
        expect(rows.at(-1)!.type).toBe("user.deleted")

        // A failed sign-in of an unknown identifier is recorded without a user.
        const unknown = await sql(
          `SELECT outcome, reason, user_id FROM authsome_audit_events
            WHERE type = 'auth.signin.failed' AND metadata->>'identifier_hash' = $1`,
          [sha256(nobody)],
        )
        expect(unknown).toEqual([{ outcome: "failure", reason: "unknown_user", user_id: null }])

        // No secret ever lands in the audit trail.
        const all = JSON.stringify(await sql("SELECT * FROM authsome_audit_events"))
        for (const secret of [strongPassword, newPassword, token, fresh.session_token, fresh.refresh_token]) {
          expect(all).not.toContain(secret)
        }
      }
    })
  })
})

describe("short-lived tokens", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({
      config: {
        emailVerification: { required: false },
        plugins: [Password.plugin({ resetTokenTtl: "1 second" })],
        session: { tokenTtl: "1 second" },
      },
    })
  })
  afterAll(() => server?.close())

  it("an expired reset token is 400 invalid_code; an expired session token introspects inactive", async () => {
    const client = new Client(server.base)
    const email = uniqueEmail("expiry")
    const signup = await client.post("/signup", { email, password: strongPassword })
    expect(signup.status).toBe(201)
    const sessionToken = signup.body.session_token as string
    const active = await client.post("/introspect", { token: sessionToken })
    expect(active.body.active).toBe(true)

    const before = server.smtp.received.length
    await client.post("/forgot-password", { email })
    const { token } = await resetTokenFrom(server, email, before)
    await sleep(1200)

    const expired = await client.post("/reset-password", { token, new_password: newPassword })
    expect(expired.status).toBe(400)
    expect(expired.body.type).toBe("invalid_code")
    expect((await client.post("/signin", { email, password: strongPassword })).status).toBe(200)

    const introspected = await client.post("/introspect", { token: sessionToken })
    expect(introspected.status).toBe(200)
    expect(introspected.body).toEqual({ active: false })
    const session = await client.get("/session", bearer(sessionToken))
    expect(session.status).toBe(401)
    expect(session.body.type).toBe("session_expired")
  })
})

describe("mail resilience", () => {
  let server: TestServer
  let smtp: TestSmtp
  beforeAll(async () => {
    smtp = await TestSmtp.create(false)
    server = await startServer({ smtp })
  })
  afterAll(async () => {
    await server?.close()
    await smtp?.stop()
  })

  it("sign-up answers at once while the mail server is down; the mail arrives once it is up, exactly once", async () => {
    const client = new Client(server.base)
    const email = uniqueEmail("resilient")
    const started = Date.now()
    const signup = await client.post("/signup", { email, password: strongPassword })
    expect(signup.status).toBe(201)
    expect(signup.body.verification_required).toBe(true)
    expect(Date.now() - started).toBeLessThan(2000)

    // Let a few deliveries fail, then bring the mail server up.
    await sleep(500)
    expect(smtp.received).toHaveLength(0)
    await smtp.start()
    const mail = await smtp.waitFor(email, /verif/i, 15_000)
    await sleep(1000)
    expect(smtp.received.filter((m) => m.to.includes(email))).toHaveLength(1)

    const { code } = verificationOf(mail)
    const verified = await client.post("/verify-email", { email, code })
    expect(verified.status).toBe(200)
    expect(verified.body.user.email_verified).toBe(true)

    const config = await client.get("/client-config")
    expect(config.body.email_verification).toEqual({ required: true })
  })
})
