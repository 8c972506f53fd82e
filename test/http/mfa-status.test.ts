/** `GET /mfa/status`: whether the caller's MFA is on — off, on once the enrollment is confirmed, off after disabling. */
import * as OTPAuth from "otpauth"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Mfa from "../../src/plugins/mfa/index.js"
import * as Password from "../../src/plugins/password/index.js"
import { Client, signUpAndSignIn, startServer, type TestServer } from "../support/http.js"
import { expectError } from "../support/security.js"

describe("GET /mfa/status", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ config: { plugins: [Password.plugin(), Mfa.plugin()] } })
  }, 60_000)
  afterAll(() => server?.close())

  it("follows the enrollment; needs a session", async () => {
    const client = new Client(server.base)
    const { session_token: token } = await signUpAndSignIn(server, client)
    const as = { token, cookies: false }
    const status = async () => (await client.get("/mfa/status", as)).body
    expect(await status()).toEqual({ enabled: false })
    const enrolled = await client.post("/mfa/enroll", { method: "totp" }, as)
    expect(await status()).toEqual({ enabled: false })
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(enrolled.body.secret) })
    expect((await client.post("/mfa/verify", { code: totp.generate() }, as)).status).toBe(200)
    expect(await status()).toEqual({ enabled: true })
    const disabled = await client.request("DELETE", "/mfa/enrollment", {
      ...as,
      body: { code: totp.generate({ timestamp: Date.now() + 30_000 }) },
    })
    expect(disabled.status).toBe(200)
    expect(await status()).toEqual({ enabled: false })
    expectError(await client.get("/mfa/status", { cookies: false }), 401, "unauthorized")
  })
})
