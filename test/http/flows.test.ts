/**
 * The main account flows over real HTTP, on PostgreSQL, with mail delivered to a real SMTP server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Client, type TestServer, startServer, strongPassword, uniqueEmail } from "../support/http.js"
import { verificationOf } from "../support/smtp.js"

describe("account flows", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ config: { publicUrl: "https://app.example.com" } })
  })
  afterAll(() => server?.close())

  const newClient = () => new Client(server.base)

  it("sign-up mails a code; the code from the mail verifies and signs in; the session validates by bearer", async () => {
    const client = newClient()
    const email = uniqueEmail("verify")
    const signup = await client.post("/signup", { email: `  ${email.toUpperCase()} `, password: strongPassword })
    expect(signup.status).toBe(201)
    expect(signup.body.verification_required).toBe(true)
    expect(signup.body.user.email).toBe(email)
    expect(signup.body.session_token).toBeUndefined()

    const mail = await server.smtp.waitFor(email, /verif/i)
    // Not an account yet: the sign-up waits for its code, and its own password is told so.
    const blocked = await client.post("/signin", { email, password: strongPassword })
    expect(blocked.status).toBe(403)
    expect(blocked.body.type).toBe("email_not_verified")
    expect((await client.post("/signin", { email, password: `${strongPassword}!` })).body.type).toBe(
      "invalid_credentials",
    )

    const { code, token } = verificationOf(mail)
    expect(code).toMatch(/^\d{6}$/)
    expect(mail.text).toContain("https://app.example.com/verify-email?token=")
    expect(token.length).toBeGreaterThan(20)

    const verified = await client.post("/verify-email", { email, code })
    expect(verified.status).toBe(200)
    expect(verified.body.user.email_verified).toBe(true)
    const session = await client.get("/session", { token: verified.body.session_token, cookies: false })
    expect(session.status).toBe(200)
    expect(session.body.user.id).toBe(signup.body.user.id)
    expect(session.body.session.user_id).toBe(signup.body.user.id)

    // The code is single-use, and so is the link token of the same verification.
    expect((await client.post("/verify-email", { email, code })).body.type).toBe("invalid_code")
    expect((await client.post("/verify-email", { token })).body.type).toBe("invalid_code")
  })

  it("verifies by the link token too", async () => {
    const client = newClient()
    const email = uniqueEmail("link")
    await client.post("/signup", { email, password: strongPassword })
    const { token } = verificationOf(await server.smtp.waitFor(email, /verif/i))
    const verified = await client.post("/verify-email", { token: decodeURIComponent(token) })
    expect(verified.status).toBe(200)
    expect(verified.body.user.email).toBe(email)
  })

  it("a wrong code counts; after 5 wrong codes the code is void", async () => {
    const client = newClient()
    const email = uniqueEmail("attempts")
    await client.post("/signup", { email, password: strongPassword })
    const { code } = verificationOf(await server.smtp.waitFor(email, /verif/i))
    const wrong = code === "000000" ? "111111" : "000000"
    for (let i = 0; i < 4; i++) {
      const r = await client.post("/verify-email", { email, code: wrong })
      expect(r.status).toBe(400)
      expect(r.body.type).toBe("invalid_code")
    }
    const fifth = await client.post("/verify-email", { email, code: wrong })
    expect(fifth.status).toBe(429)
    expect(fifth.body.type).toBe("too_many_attempts")
    // Void: the right code now gets the same answer (as would any guess at an address without a code), and the
    // link of the same verification no longer works.
    const right = await client.post("/verify-email", { email, code })
    expect(right.status).toBe(429)
    expect(right.body.type).toBe("too_many_attempts")
    const { token } = verificationOf(await server.smtp.waitFor(email, /verif/i))
    expect((await client.post("/verify-email", { token: decodeURIComponent(token) })).body.type).toBe("invalid_code")
  })

  it("resend mails a new code and voids the old one; unknown emails get the same answer", async () => {
    const client = newClient()
    const email = uniqueEmail("resend")
    await client.post("/signup", { email, password: strongPassword })
    const first = verificationOf(await server.smtp.waitFor(email, /verif/i))
    const before = server.smtp.received.length
    const resend = await client.post("/verify-email/resend", { email })
    expect(resend.status).toBe(200)
    expect(resend.body).toEqual({ status: "ok" })
    const unknown = await client.post("/verify-email/resend", { email: uniqueEmail("nobody") })
    expect(unknown.status).toBe(200)
    expect(unknown.body).toEqual({ status: "ok" })
    const deadline = Date.now() + 5000
    while (server.smtp.received.filter((m) => m.to.includes(email)).length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25))
    }
    expect(server.smtp.received.length).toBe(before + 1)
    const second = verificationOf(server.smtp.received.filter((m) => m.to.includes(email)).at(-1)!)
    expect(second.code).toMatch(/^\d{6}$/)
    if (second.code !== first.code) {
      expect((await client.post("/verify-email", { email, code: first.code })).status).toBe(400)
    }
    expect((await client.post("/verify-email", { email, code: second.code })).status).toBe(200)
  })
})
