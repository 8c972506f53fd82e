/**
 * TOTP multi-factor authentication over real HTTP on PostgreSQL, with codes computed by `otpauth` as an
 * authenticator app would: enrollment, the sign-in gate and its challenge, single-use codes, recovery codes, ticket
 * limits, disabling, and an app that requires MFA.
 */
import * as OTPAuth from "otpauth"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Mfa from "../../src/plugins/mfa/index.js"
import * as Password from "../../src/plugins/password/index.js"
import { Client, type TestServer, startServer, strongPassword, uniqueEmail } from "../support/http.js"
import { expectError, query } from "../support/security.js"

const secret = "mfa-test-secret-0123456789-abcdefghijklmnop"

const serverConfig = (mfa: Mfa.MfaOptionsInput = {}) => ({
  plugins: [Password.plugin(), Mfa.plugin(mfa)],
  emailVerification: { required: false },
  secret,
})

/** An authenticator app holding the seed of an enrollment. */
const authenticatorApp = (seed: string) => new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(seed) })

/**
 * Waits until the current 30-second step has at least `ms` left, so that a test's codes for the steps around
 * "now" stay the server's neighbours until it ends.
 */
const awayFromStepEnd = async (ms = 15_000) => {
  const left = 30_000 - (Date.now() % 30_000)
  if (left < ms) await new Promise((resolve) => setTimeout(resolve, left + 200))
  return Date.now()
}

describe("MFA (TOTP)", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ config: serverConfig() })
  })
  afterAll(() => server?.close())

  const signedUp = async () => {
    const client = new Client(server.base)
    const email = uniqueEmail("mfa")
    const signup = await client.post("/signup", { email, password: strongPassword })
    expect(signup.status).toBe(201)
    return { client, email, token: signup.body.session_token as string, userId: signup.body.user.id as string }
  }

  /** A user with MFA on: returns the app and the recovery codes (the confirming code's step is used). */
  const enrolled = async () => {
    const user = await signedUp()
    const enrollment = await user.client.post("/mfa/enroll", { method: "totp" }, { token: user.token, cookies: false })
    expect(enrollment.status).toBe(200)
    const app = authenticatorApp(enrollment.body.secret)
    const verified = await user.client.post(
      "/mfa/verify",
      { code: app.generate() },
      { token: user.token, cookies: false },
    )
    expect(verified.status).toBe(200)
    return {
      ...user,
      app,
      seed: enrollment.body.secret as string,
      recoveryCodes: verified.body.recovery_codes as string[],
    }
  }

  const signIn = (client: Client, email: string) =>
    client.post("/signin", { email, password: strongPassword }, { cookies: false })

  const ticketFor = async (client: Client, email: string) => {
    const refused = await signIn(client, email)
    expectError(refused, 403, "mfa_required", ["mfa_ticket", "available_methods"])
    return refused.body.mfa_ticket as string
  }

  const auditEvents = (userId: string, type: string) =>
    query(server.databaseUrl, "SELECT metadata FROM authsome_audit_events WHERE user_id = $1 AND type = $2", [
      userId,
      type,
    ])

  it("client-config reports MFA with its methods", async () => {
    const config = await new Client(server.base).get("/client-config")
    expect(config.body.mfa).toEqual({ enabled: true, methods: ["totp", "recovery_code"] })
    expect(config.body.supported_plugins).toContain("mfa")
  })

  it("enrolls: the seed and otpauth:// URL, confirmed by a code from the app; the seed is sealed at rest", async () => {
    const user = await signedUp()
    const auth = { token: user.token, cookies: false }
    const enrollment = await user.client.post("/mfa/enroll", {}, auth)
    expect(enrollment.status).toBe(200)
    expect(Object.keys(enrollment.body).sort()).toEqual(["id", "otpauth_url", "secret"])
    expect(enrollment.body.id).toMatch(/^amfa_/)
    const fromUrl = OTPAuth.URI.parse(enrollment.body.otpauth_url) as OTPAuth.TOTP
    expect([fromUrl.issuer, fromUrl.label, fromUrl.algorithm, fromUrl.digits, fromUrl.period]).toEqual([
      "Authsome",
      user.email,
      "SHA1",
      6,
      30,
    ])
    expect(fromUrl.secret.base32).toBe(enrollment.body.secret)

    // Stored sealed (AES-256-GCM), never the seed in any encoding the URL or the app uses.
    const [row] = await query(server.databaseUrl, "SELECT secret FROM authsome_mfa_enrollments WHERE user_id = $1", [
      user.userId,
    ])
    const stored: string = row!.secret
    expect(stored).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/)
    const seed = OTPAuth.Secret.fromBase32(enrollment.body.secret)
    for (const form of [seed.base32, seed.hex, seed.latin1, Buffer.from(seed.bytes).toString("base64")]) {
      expect(stored.toLowerCase()).not.toContain(form.toLowerCase())
    }

    // Not on before a code from the app confirms it: sign-in still issues tokens.
    expect((await signIn(user.client, user.email)).status).toBe(200)
    expectError(await user.client.post("/mfa/verify", { code: "000000" }, auth), 400, "invalid_code")
    const app = authenticatorApp(enrollment.body.secret)
    const verified = await user.client.post("/mfa/verify", { code: app.generate() }, auth)
    expect(verified.status).toBe(200)
    expect(verified.body.verified).toBe(true)
    const codes: string[] = verified.body.recovery_codes
    expect(codes).toHaveLength(10)
    expect(new Set(codes).size).toBe(10)

    // Recovery codes are stored as keyed hashes only.
    const hashes = await query(
      server.databaseUrl,
      "SELECT code_hash FROM authsome_mfa_recovery_codes WHERE user_id = $1",
      [user.userId],
    )
    expect(hashes).toHaveLength(10)
    const dump = JSON.stringify(hashes)
    for (const code of codes) expect(dump).not.toContain(code.replace("-", ""))
    expect(await auditEvents(user.userId, "auth.mfa.enrolled")).toHaveLength(1)

    // Enabled: a new enrollment is a conflict, a second confirmation too.
    expectError(await user.client.post("/mfa/enroll", {}, auth), 409, "conflict")
    expectError(await user.client.post("/mfa/verify", { code: app.generate() }, auth), 409, "conflict")
  })

  it("password sign-in of an enrolled user always yields mfa_required; the challenge signs in like any sign-in", async () => {
    const user = await enrolled()
    for (let i = 0; i < 3; i++) {
      const refused = await signIn(user.client, user.email)
      expectError(refused, 403, "mfa_required", ["mfa_ticket", "available_methods"])
      expect(refused.body.available_methods).toEqual(["totp", "recovery_code"])
      expect(refused.body.mfa_ticket.length).toBeGreaterThan(40)
      expect(refused.setCookies).toEqual([])
    }
    const ticket = await ticketFor(user.client, user.email)
    // The confirming code's step is used: the next step's code (accepted for drift) completes the sign-in.
    const code = user.app.generate({ timestamp: Date.now() + 30_000 })
    const client = new Client(server.base)
    const signedIn = await client.post("/mfa/challenge", { mfa_ticket: ticket, code })
    expect(signedIn.status).toBe(200)
    expect(Object.keys(signedIn.body).sort()).toEqual([
      "expires_at",
      "refresh_token",
      "refresh_token_expires_at",
      "session_token",
      "user",
    ])
    expect(signedIn.body.user.id).toBe(user.userId)
    expect(client.jar.get("authsome_session_token")).toBe(signedIn.body.session_token)
    const session = await client.get("/session", { token: signedIn.body.session_token, cookies: false })
    expect(session.status).toBe(200)
    expect(session.body.session.device_id).not.toBeNull()
    // The same sign-in path: one auth.signin event for the session, naming the method and the second factor.
    const events = await auditEvents(user.userId, "auth.signin")
    expect(events.map((event) => event.metadata)).toContainEqual({
      method: "password",
      second_factor: "totp",
      session_id: session.body.session.id,
    })
  })

  it("a TOTP code is accepted at most once; the codes of the steps before and after are accepted", async () => {
    const now = await awayFromStepEnd()
    const user = await signedUp()
    const auth = { token: user.token, cookies: false }
    const enrollment = await user.client.post("/mfa/enroll", {}, auth)
    const app = authenticatorApp(enrollment.body.secret)
    const code = (steps: number) => app.generate({ timestamp: now + steps * 30_000 })
    const challenge = (ticket: string, c: string) => user.client.post("/mfa/challenge", { mfa_ticket: ticket, code: c })

    // The previous step's code confirms the enrollment (clock drift)...
    expect((await user.client.post("/mfa/verify", { code: code(-1) }, auth)).status).toBe(200)
    // ...and cannot be used again, by anyone.
    let ticket = await ticketFor(user.client, user.email)
    expectError(await challenge(ticket, code(-1)), 400, "invalid_code")
    expect((await challenge(ticket, code(0))).status).toBe(200)

    ticket = await ticketFor(user.client, user.email)
    expectError(await challenge(ticket, code(0)), 400, "invalid_code")
    expect((await challenge(ticket, code(1))).status).toBe(200)

    ticket = await ticketFor(user.client, user.email)
    expectError(await challenge(ticket, code(1)), 400, "invalid_code")
    // Two steps ahead is outside the window (unless it collides with an accepted code by chance).
    if (![code(1), code(0)].includes(code(2))) expectError(await challenge(ticket, code(2)), 400, "invalid_code")
  })

  it("the same code sent twice at once signs in once", async () => {
    const now = await awayFromStepEnd()
    const user = await signedUp()
    const auth = { token: user.token, cookies: false }
    const app = authenticatorApp((await user.client.post("/mfa/enroll", {}, auth)).body.secret)
    expect(
      (await user.client.post("/mfa/verify", { code: app.generate({ timestamp: now - 30_000 }) }, auth)).status,
    ).toBe(200)
    const tickets = await Promise.all([ticketFor(user.client, user.email), ticketFor(user.client, user.email)])
    const code = app.generate({ timestamp: now })
    const raced = await Promise.all(
      tickets.map((ticket) => user.client.post("/mfa/challenge", { mfa_ticket: ticket, code })),
    )
    expect(raced.map((response) => response.status).sort()).toEqual([200, 400])
  })

  it("recovery codes: each signs in once (any case, with or without the dash); new codes void the old ones", async () => {
    const user = await enrolled()
    const [first, second, third] = user.recoveryCodes as [string, string, string]
    let ticket = await ticketFor(user.client, user.email)
    const signedIn = await user.client.post("/mfa/challenge", { mfa_ticket: ticket, code: first.toUpperCase() })
    expect(signedIn.status).toBe(200)
    const events = await auditEvents(user.userId, "auth.signin")
    expect(events.map((event) => event.metadata.second_factor)).toContain("recovery_code")

    ticket = await ticketFor(user.client, user.email)
    expectError(await user.client.post("/mfa/challenge", { mfa_ticket: ticket, code: first }), 400, "invalid_code")
    expect(
      (await user.client.post("/mfa/challenge", { mfa_ticket: ticket, code: second.replace("-", "") })).status,
    ).toBe(200)

    // New codes need a current code (a recovery code does, and is used up); the old ones stop working.
    const auth = { token: user.token, cookies: false }
    expectError(await user.client.post("/mfa/recovery/regenerate", { code: first }, auth), 400, "invalid_code")
    const renewed = await user.client.post("/mfa/recovery/regenerate", { code: third }, auth)
    expect(renewed.status).toBe(200)
    expect(renewed.body.recovery_codes).toHaveLength(10)
    ticket = await ticketFor(user.client, user.email)
    expectError(
      await user.client.post("/mfa/challenge", { mfa_ticket: ticket, code: user.recoveryCodes[3] }),
      400,
      "invalid_code",
    )
    expect(
      (await user.client.post("/mfa/challenge", { mfa_ticket: ticket, code: renewed.body.recovery_codes[0] })).status,
    ).toBe(200)
  })

  it("a ticket allows 5 tries (the 5th wrong one voids it: 429), counted atomically; used once; not forgeable", async () => {
    const user = await enrolled()
    const challenge = (ticket: string, code: string) => user.client.post("/mfa/challenge", { mfa_ticket: ticket, code })
    const nextCode = () => user.app.generate({ timestamp: Date.now() + 30_000 })

    let ticket = await ticketFor(user.client, user.email)
    for (let i = 0; i < 4; i++) expectError(await challenge(ticket, "000000"), 400, "invalid_code")
    expectError(await challenge(ticket, "000000"), 429, "too_many_attempts")
    expectError(await challenge(ticket, nextCode()), 429, "too_many_attempts")
    expectError(await challenge(ticket, user.recoveryCodes[0]!), 429, "too_many_attempts")

    // 10 wrong codes at once on a fresh ticket: exactly 4 are compared and refused, the rest find it void.
    ticket = await ticketFor(user.client, user.email)
    const raced = await Promise.all(Array.from({ length: 10 }, () => challenge(ticket, "999999")))
    const types = raced.map((r) => r.body.type)
    expect(types.filter((t) => t === "invalid_code")).toHaveLength(4)
    expect(types.filter((t) => t === "too_many_attempts")).toHaveLength(6)

    // A used ticket does not sign in twice.
    ticket = await ticketFor(user.client, user.email)
    expect((await challenge(ticket, user.recoveryCodes[1]!)).status).toBe(200)
    expectError(await challenge(ticket, user.recoveryCodes[2]!), 429, "too_many_attempts")

    // Forged or altered tickets are refused before any code is looked at.
    ticket = await ticketFor(user.client, user.email)
    const altered = `${ticket.slice(0, 30)}${ticket[30] === "A" ? "B" : "A"}${ticket.slice(31)}`
    for (const forged of [altered, ticket.slice(0, -4), "v1.AAAA.AAAA.AAAA", "x"]) {
      expectError(await challenge(forged, user.recoveryCodes[3]!), 400, "invalid_code")
    }
    // ...and the recovery code tried with them is still good with the genuine ticket.
    expect((await challenge(ticket, user.recoveryCodes[3]!)).status).toBe(200)
  })

  it("disabling needs a current code; afterwards password sign-in issues tokens again", async () => {
    const user = await enrolled()
    const auth = { token: user.token, cookies: false }
    expectError(
      await user.client.request("DELETE", "/mfa/enrollment", { body: { code: "123456" }, ...auth }),
      400,
      "invalid_code",
    )
    expectError(await user.client.request("DELETE", "/mfa/enrollment", { body: {}, ...auth }), 400, "invalid_request", [
      "details",
    ])
    const code = user.app.generate({ timestamp: Date.now() + 30_000 })
    const disabled = await user.client.request("DELETE", "/mfa/enrollment", { body: { code }, ...auth })
    expect(disabled.status).toBe(200)
    expect(disabled.body).toEqual({ status: "mfa disabled" })
    expect(await auditEvents(user.userId, "auth.mfa.disabled")).toHaveLength(1)
    expect((await signIn(user.client, user.email)).status).toBe(200)
    expectError(await user.client.request("DELETE", "/mfa/enrollment", { body: { code }, ...auth }), 404, "not_found")
    const remaining = await query(server.databaseUrl, "SELECT 1 FROM authsome_mfa_recovery_codes WHERE user_id = $1", [
      user.userId,
    ])
    expect(remaining).toHaveLength(0)
  })

  it("the MFA routes need a session (except the challenge), and the data export shows the state, not secrets", async () => {
    const anonymous = new Client(server.base)
    for (const [method, path] of [
      ["POST", "/mfa/enroll"],
      ["POST", "/mfa/verify"],
      ["DELETE", "/mfa/enrollment"],
      ["POST", "/mfa/recovery/regenerate"],
    ] as const) {
      expectError(await anonymous.request(method, path, { body: { code: "123456" } }), 401, "unauthorized")
    }
    const user = await enrolled()
    const exported = await user.client.get("/me/export", { token: user.token, cookies: false })
    expect(exported.body.mfa).toMatchObject({ method: "totp", verified: true, recovery_codes_remaining: 10 })
    expect(JSON.stringify(exported.body)).not.toContain(user.seed)
  })
})

describe("MFA required by the app", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ config: serverConfig({ required: ["default"] }) })
  })
  afterAll(() => server?.close())

  it("a user without MFA enrolls with the ticket of the refused sign-in, then signs in with the recovery codes", async () => {
    const client = new Client(server.base)
    const email = uniqueEmail("required")
    // The sign-up itself is gated, and keeps the account.
    const signup = await client.post("/signup", { email, password: strongPassword })
    expectError(signup, 403, "mfa_required", ["mfa_ticket", "available_methods", "enrollment_required"])
    expect(signup.body.enrollment_required).toBe(true)
    expect(signup.body.available_methods).toEqual(["totp"])
    const refused = await client.post("/signin", { email, password: strongPassword })
    expectError(refused, 403, "mfa_required", ["mfa_ticket", "available_methods", "enrollment_required"])
    const ticket: string = refused.body.mfa_ticket

    // Without an enrollment there is nothing to prove.
    expectError(await client.post("/mfa/challenge", { mfa_ticket: ticket, code: "123456" }), 400, "invalid_code")
    const enrollment = await client.post("/mfa/challenge/enroll", { mfa_ticket: ticket })
    expect(enrollment.status).toBe(200)
    const app = authenticatorApp(enrollment.body.secret)
    expectError(await client.post("/mfa/challenge", { mfa_ticket: ticket, code: "000000" }), 400, "invalid_code")
    const signedIn = await client.post("/mfa/challenge", { mfa_ticket: ticket, code: app.generate() })
    expect(signedIn.status).toBe(200)
    expect(signedIn.body.user.email).toBe(email)
    expect(signedIn.body.recovery_codes).toHaveLength(10)
    expect(typeof signedIn.body.session_token).toBe("string")

    // From now on it is an ordinary second factor.
    const next = await client.post("/signin", { email, password: strongPassword })
    expectError(next, 403, "mfa_required", ["mfa_ticket", "available_methods"])
    // A challenge ticket cannot start an enrollment, nor can an enrollment ticket once MFA is on.
    expectError(await client.post("/mfa/challenge/enroll", { mfa_ticket: next.body.mfa_ticket }), 400, "invalid_code")
    expectError(await client.post("/mfa/challenge/enroll", { mfa_ticket: ticket }), 409, "conflict")
    const recovered = await client.post("/mfa/challenge", {
      mfa_ticket: next.body.mfa_ticket,
      code: signedIn.body.recovery_codes[0],
    })
    expect(recovered.status).toBe(200)
  })
})

describe("MFA rate limits", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({
      config: {
        ...serverConfig(),
        rateLimit: {
          enabled: true,
          rules: { mfaCodeUser: { limit: 2, window: "1 minute" }, codeIp: { limit: 3, window: "1 minute" } },
        },
      },
    })
  })
  afterAll(() => server?.close())

  it("codes are limited per user on the session routes and per IP on the challenge", async () => {
    const client = new Client(server.base)
    const email = uniqueEmail("limits")
    const signup = await client.post("/signup", { email, password: strongPassword })
    const auth = { token: signup.body.session_token, cookies: false }
    const app = authenticatorApp((await client.post("/mfa/enroll", {}, auth)).body.secret)
    expectError(await client.post("/mfa/verify", { code: "000000" }, auth), 400, "invalid_code")
    expect((await client.post("/mfa/verify", { code: app.generate() }, auth)).status).toBe(200)
    // The third code of this user within the minute is refused before it is looked at (the per-IP rule allows 3).
    const limited = await client.post("/mfa/recovery/regenerate", { code: app.generate() }, auth)
    expectError(limited, 429, "rate_limited")
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/)

    // The per-IP rule: 3 codes per minute, shared with the routes above, so the first challenge is already over it.
    const refused = await client.post("/signin", { email, password: strongPassword })
    expectError(refused, 403, "mfa_required", ["mfa_ticket", "available_methods"])
    expectError(
      await client.post("/mfa/challenge", { mfa_ticket: refused.body.mfa_ticket, code: "000000" }),
      429,
      "rate_limited",
    )
  })
})
