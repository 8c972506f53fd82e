/**
 * Magic links (http-api.md §6), black-box over real HTTP on PostgreSQL with mail received by a real SMTP server:
 * the link signs in once, expires, verifies the address, creates accounts only when allowed, is rate limited, and
 * the send route answers known and unknown addresses alike, in the same time.
 */
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as MagicLink from "../../src/plugins/magic-link/index.js"
import * as Password from "../../src/plugins/password/index.js"
import { Client, startServer, strongPassword, type TestServer, uniqueEmail } from "../support/http.js"
import type { ReceivedMail } from "../support/smtp.js"

const publicUrl = "https://app.example.com"

const linkToken = (mail: ReceivedMail) => {
  const match = /https:\/\/app\.example\.com\/magic-link\?token=([A-Za-z0-9_%-]+)/.exec(mail.text)
  return match === null ? undefined : decodeURIComponent(match[1]!)
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

describe("magic links, sign-up not allowed (the default)", () => {
  let server: TestServer
  let db: pg.Client
  beforeAll(async () => {
    // Sign-up without verification makes the account at once, its address unproven: what a magic link proves.
    server = await startServer({
      config: {
        publicUrl,
        emailVerification: { required: false },
        plugins: [Password.plugin(), MagicLink.plugin({ tokenTtl: "2 seconds" })],
      },
    })
    db = new pg.Client({ connectionString: server.databaseUrl })
    await db.connect()
  })
  afterAll(async () => {
    await db?.end()
    await server?.close()
  })

  /** A user who signed up with a password (the address is not verified yet). */
  const pendingUser = async () => {
    const email = uniqueEmail("magic")
    const signup = await new Client(server.base).post("/signup", { email, password: strongPassword })
    expect(signup.status).toBe(201)
    return { email, id: signup.body.user.id as string }
  }

  const send = (email: string) => new Client(server.base).post("/magic-link/send", { email })

  it("mails a single-use link to {publicUrl}/magic-link; using it signs in and verifies the address", async () => {
    const { email, id } = await pendingUser()
    const sent = await send(email)
    expect(sent.status).toBe(200)
    expect(sent.body).toEqual({ status: "ok" })
    const mail = await server.smtp.waitFor(email, /sign-in link/i)
    const token = linkToken(mail)
    expect(token?.length).toBeGreaterThanOrEqual(43)
    // Stored as its SHA-256 only; the queued mail's body is the only other place it ever was.
    const stored = await db.query(
      "SELECT token_hash FROM authsome_verifications WHERE kind = 'magic_link' AND email = $1",
      [email],
    )
    expect(stored.rows).toHaveLength(1)
    expect(stored.rows[0].token_hash).not.toContain(token)

    const client = new Client(server.base)
    const signedIn = await client.post("/magic-link/verify", { token })
    expect(signedIn.status).toBe(200)
    expect(signedIn.body.user).toMatchObject({ id, email, email_verified: true })
    expect(signedIn.body.session_token).toBeTypeOf("string")
    expect((await client.get("/session")).body.user.id).toBe(id)

    const again = await new Client(server.base).post("/magic-link/verify", { token })
    expect(again.status).toBe(400)
    expect(again.body).toMatchObject({ type: "invalid_code", error: "invalid or expired link" })
  })

  it("no pre-hijacking: a password set before the owner proved the address stops working once they do", async () => {
    // Someone registers the owner's address with their own password, and cannot verify it.
    const { email, id } = await pendingUser()
    await send(email)
    const token = linkToken(await server.smtp.waitFor(email, /sign-in link/i))
    const owner = await new Client(server.base).post("/magic-link/verify", { token })
    expect(owner.status).toBe(200)
    expect(owner.body.user).toMatchObject({ id, email_verified: true })
    const squatter = await new Client(server.base).post("/signin", { email, password: strongPassword })
    expect(squatter.status).toBe(401)
    expect(squatter.body.type).toBe("invalid_credentials")
    const session = await new Client(server.base).get("/session", { token: owner.body.session_token })
    expect(session.status).toBe(200)
  })

  it("a new link voids the previous one", async () => {
    const { email } = await pendingUser()
    await send(email)
    const first = linkToken(await server.smtp.waitFor(email, /sign-in link/i))
    server.smtp.received.length = 0
    await send(email)
    const second = linkToken(await server.smtp.waitFor(email, /sign-in link/i))
    expect(second).not.toBe(first)
    expect((await new Client(server.base).post("/magic-link/verify", { token: first })).status).toBe(400)
    expect((await new Client(server.base).post("/magic-link/verify", { token: second })).status).toBe(200)
  })

  it("an expired link is refused", async () => {
    const { email } = await pendingUser()
    await send(email)
    const token = linkToken(await server.smtp.waitFor(email, /sign-in link/i))
    await new Promise((resolve) => setTimeout(resolve, 2_100))
    const refused = await new Client(server.base).post("/magic-link/verify", { token })
    expect(refused.status).toBe(400)
    expect(refused.body.type).toBe("invalid_code")
  })

  it("an unknown address gets the same answer and a notice without a link; no account is created", async () => {
    const email = uniqueEmail("nobody")
    const sent = await send(email)
    expect(sent.status).toBe(200)
    expect(sent.body).toEqual({ status: "ok" })
    const notice = await server.smtp.waitFor(email, /sign-in attempt/i)
    expect(notice.text).toContain("no account uses it")
    expect(notice.text).not.toContain("token=")
    expect((await db.query("SELECT count(*)::int AS n FROM authsome_users WHERE email = $1", [email])).rows[0].n).toBe(
      0,
    )
  })

  it("bad input is 400; garbage tokens are invalid_code", async () => {
    const client = new Client(server.base)
    expect((await client.post("/magic-link/send", { email: "not an email" })).body.type).toBe("invalid_request")
    expect((await client.post("/magic-link/verify", {})).body.type).toBe("invalid_request")
    const garbage = await client.post("/magic-link/verify", { token: "x".repeat(43) })
    expect(garbage.status).toBe(400)
    expect(garbage.body.type).toBe("invalid_code")
  })

  it("known and unknown addresses take the same time (medians of interleaved samples)", async () => {
    const known: Array<string> = []
    for (let i = 0; i < 3; i++) known.push((await pendingUser()).email)
    const timings = { known: [] as Array<number>, unknown: [] as Array<number> }
    const timed = async (email: string) => {
      const started = performance.now()
      const response = await send(email)
      const elapsed = performance.now() - started
      expect(response.status).toBe(200)
      return elapsed
    }
    // Warm up both paths, then interleave so load changes hit both series alike.
    await timed(known[0]!)
    await timed(uniqueEmail("warm"))
    for (let i = 0; i < 40; i++) {
      timings.known.push(await timed(known[i % known.length]!))
      timings.unknown.push(await timed(uniqueEmail("unknown")))
    }
    const [k, u] = [median(timings.known), median(timings.unknown)]
    // The same statements run on both branches; a shortcut for either (no insert, no mail queued) would show as a
    // difference of the order of a whole database round trip per statement skipped.
    expect(Math.abs(k - u)).toBeLessThan(Math.max(2, 0.35 * Math.max(k, u)))
  }, 60_000)
})

describe("magic links with allowSignup", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({
      config: { publicUrl, plugins: [Password.plugin(), MagicLink.plugin({ allowSignup: true })] },
    })
  })
  afterAll(() => server?.close())

  it("a link to an unknown address creates the account, verified, on first use", async () => {
    const email = uniqueEmail("newcomer")
    await new Client(server.base).post("/magic-link/send", { email })
    const token = linkToken(await server.smtp.waitFor(email, /sign-in link/i))
    const created = await new Client(server.base).post("/magic-link/verify", { token })
    expect(created.status).toBe(200)
    expect(created.body.user).toMatchObject({ email, email_verified: true })
    // The account exists now: the next link signs the same user in.
    server.smtp.received.length = 0
    await new Client(server.base).post("/magic-link/send", { email })
    const next = linkToken(await server.smtp.waitFor(email, /sign-in link/i))
    const again = await new Client(server.base).post("/magic-link/verify", { token: next })
    expect(again.body.user.id).toBe(created.body.user.id)
  })
})

describe("magic links are rate limited per IP and per address", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({
      config: {
        publicUrl,
        rateLimit: { enabled: true, rules: { mailIp: { limit: 5, window: "1 minute" } } },
        plugins: [Password.plugin(), MagicLink.plugin()],
      },
    })
  })
  afterAll(() => server?.close())

  it("the fourth send to one address within a minute is 429; the sixth from one IP too", async () => {
    const client = new Client(server.base)
    const email = uniqueEmail("limited")
    for (let i = 0; i < 3; i++) expect((await client.post("/magic-link/send", { email })).status).toBe(200)
    const perAddress = await client.post("/magic-link/send", { email })
    expect(perAddress.status).toBe(429)
    expect(perAddress.body.type).toBe("rate_limited")
    expect(perAddress.headers.get("retry-after")).toBeTruthy()
    // Four requests so far from this IP (the refused one counted too); one more passes, then the IP limit.
    expect((await client.post("/magic-link/send", { email: uniqueEmail("other") })).status).toBe(200)
    const perIp = await client.post("/magic-link/send", { email: uniqueEmail("other") })
    expect(perIp.status).toBe(429)
  })
})
