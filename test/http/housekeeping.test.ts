/**
 * Finding 12 of the black-box review, the pruning part: expired rate-limit and lockout counters, verifications,
 * reset tokens and sessions past their refresh expiry are deleted by the background job — not left to pile up.
 * Lifetimes of two or three seconds, and a job every 300 ms, so the test sees it happen.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Password from "../../src/plugins/password/index.js"
import { type TestServer, startServer, strongPassword, uniqueEmail } from "../support/http.js"
import { CheckedClient, eventually, query } from "../support/security.js"

describe("housekeeping", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({
      config: {
        housekeeping: { interval: "300 millis" },
        rateLimit: {
          enabled: true,
          rules: Object.fromEntries(
            ["signinIp", "signinIdentifier", "signupIp", "codeIp", "mailIp", "mailEmail", "refreshIp"].map((rule) => [
              rule,
              { limit: 50, window: "2 seconds" },
            ]),
          ),
        },
        lockout: { enabled: true, window: "2 seconds", duration: "2 seconds" },
        emailVerification: { codeTtl: "3 seconds" },
        session: { refreshTokenTtl: "3 seconds", tokenTtl: "2 seconds" },
        plugins: [Password.plugin({ resetTokenTtl: "3 seconds" })],
      },
    })
  })
  afterAll(() => server?.close())

  const count = async (table: string, where = "true", values: ReadonlyArray<unknown> = []) =>
    Number((await query(server.databaseUrl, `SELECT count(*) AS n FROM ${table} WHERE ${where}`, values))[0]!["n"])

  it("expired counters, verifications, resets and sessions are pruned; live ones stay", async () => {
    const client = new CheckedClient(server.base)
    // A verified account with a session, a reset token, a pending sign-up, counters and a lock.
    const email = uniqueEmail("kept")
    await client.post("/signup", { email, password: strongPassword })
    await eventually(async () => server.smtp.received.some((m) => m.to.includes(email)))
    const code = /\b(\d{6})\b/.exec(server.smtp.received.find((m) => m.to.includes(email))!.text)![1]
    const verified = await client.post("/verify-email", { email, code })
    expect(verified.status).toBe(200)
    expect(await count("authsome_sessions")).toBe(1)
    expect((await client.post("/forgot-password", { email })).status).toBe(200)
    const pending = uniqueEmail("pending")
    await client.post("/signup", { email: pending, password: strongPassword })
    for (let i = 0; i < 6; i++)
      await client.post("/signin", { email: uniqueEmail("ghost"), password: "wrong password!" })
    expect(await count("authsome_rate_limits")).toBeGreaterThan(3)
    expect(
      await eventually(
        async () =>
          (await count("authsome_password_resets")) > 0 &&
          (await count("authsome_verifications", "email = $1", [pending])) > 0,
      ),
    ).toBe(true)

    // Everything above expires within three seconds; the job runs every 300 ms.
    const pruned = await eventually(
      async () =>
        (await count("authsome_rate_limits")) === 0 &&
        (await count("authsome_verifications")) === 0 &&
        (await count("authsome_password_resets")) === 0 &&
        (await count("authsome_sessions")) === 0,
      8_000,
    )
    expect(
      pruned,
      JSON.stringify(await query(server.databaseUrl, "SELECT key, reset_at FROM authsome_rate_limits")),
    ).toBe(true)
    // The account itself stays, and signs in again (with a fresh session that is not pruned at once).
    expect(await count("authsome_users", "email = $1", [email])).toBe(1)
    const again = await client.post("/signin", { email, password: strongPassword })
    expect(again.status).toBe(200)
    expect(await count("authsome_sessions")).toBe(1)
  }, 30_000)
})
