/**
 * Sign-up and email verification against the attacks of the black-box review (http-api.md §3 "Hardening rules"),
 * over real HTTP on PostgreSQL with mail delivered to a real SMTP server:
 * - finding 1: account pre-hijacking — a sign-up's password and profile take effect only through its own code;
 * - finding 2: `username_taken` never depends on whether the email is registered;
 * - finding 3: concurrent guesses at a code: at most 5 comparisons ever happen, counted before comparing;
 * - finding 7: sign-up, forgot-password, resend and verify-email answer alike, in about the same time, whether or
 *   not the address has an account or a code (medians over interleaved samples);
 * - finding 10: with no secret configured, a database dump does not give the code away;
 * - finding 12: deleting the account removes the address from the verifications and the outbox.
 */
import { createHmac } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Password from "../../src/plugins/password/index.js"
import { type TestServer, startServer, strongPassword, uniqueEmail } from "../support/http.js"
import { CheckedClient, compareTimings, eventually, expectError, query, stableHeaders } from "../support/security.js"
import { type ReceivedMail, verificationOf } from "../support/smtp.js"

const attackerPassword = "the attacker's own passphrase"
const victimPassword = "the victim's real passphrase"

describe("sign-up and verification", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ config: { lockout: { enabled: false } } })
  })
  afterAll(() => server?.close())

  const client = () => new CheckedClient(server.base)
  const mailsTo = (email: string) => server.smtp.received.filter((mail) => mail.to.includes(email))
  /** Waits for the `n`-th mail to `email` (1-based) whose subject matches. */
  const nthMail = async (email: string, n: number, subject = /verif/i): Promise<ReceivedMail> => {
    const arrived = await eventually(
      async () => mailsTo(email).filter((m) => subject.test(m.subject)).length >= n,
      10_000,
    )
    expect(arrived, `${n} mail(s) to ${email}`).toBe(true)
    return mailsTo(email).filter((m) => subject.test(m.subject))[n - 1]!
  }
  const signUp = (body: Record<string, unknown>) => client().post("/signup", body)
  const verify = (body: Record<string, unknown>) => client().post("/verify-email", body)
  const signIn = (email: string, password: string) => client().post("/signin", { email, password })

  /** A verified account (signed up, then verified with its mailed code). */
  const account = async (extra: Record<string, unknown> = {}) => {
    const email = uniqueEmail("acct")
    expect((await signUp({ email, password: strongPassword, ...extra })).status).toBe(201)
    const { code } = verificationOf(await nthMail(email, 1))
    const verified = await verify({ email, code })
    expect(verified.status, JSON.stringify(verified.body)).toBe(200)
    return { email, id: verified.body.user.id as string, token: verified.body.session_token as string }
  }

  describe("no pre-hijacking (finding 1)", () => {
    it("the attacker signs up first with the victim's email; the victim's own code makes the victim's account", async () => {
      const victim = uniqueEmail("victim")
      const early = await signUp({ email: victim, password: attackerPassword, username: `mallory_${Date.now()}` })
      expect(early.status).toBe(201)
      const attackersMail = await nthMail(victim, 1)

      const own = await signUp({ email: victim, password: victimPassword, first_name: "Victoria" })
      expect(own.status).toBe(201)
      expect(Object.keys(own.body).sort()).toEqual(Object.keys(early.body).sort())
      // The victim's sign-up gets its own code.
      const victimsMail = await nthMail(victim, 2)
      const victimsCode = verificationOf(victimsMail).code
      expect(victimsCode).toMatch(/^\d{6}$/)

      const verified = await verify({ email: victim, code: victimsCode })
      expect(verified.status, JSON.stringify(verified.body)).toBe(200)
      expect(verified.body.user).toMatchObject({
        email: victim,
        email_verified: true,
        first_name: "Victoria",
        username: null,
      })
      // The account has the id the victim's sign-up answered with.
      expect(verified.body.user.id).toBe(own.body.user.id)

      expectError(await signIn(victim, attackerPassword), 401, "invalid_credentials")
      const signedIn = await signIn(victim, victimPassword)
      expect(signedIn.status).toBe(200)
      expect(signedIn.body.user.id).toBe(own.body.user.id)
      // The attacker's sign-up is void now: neither its code nor its link does anything.
      const attackers = verificationOf(attackersMail)
      expectError(await verify({ email: victim, code: attackers.code }), 400, "invalid_code")
      expectError(await verify({ token: decodeURIComponent(attackers.token) }), 400, "invalid_code")
      expect(await query(server.databaseUrl, "SELECT id FROM authsome_users WHERE email = $1", [victim])).toEqual([
        { id: own.body.user.id },
      ])
      expectError(await signIn(victim, attackerPassword), 401, "invalid_credentials")
    })

    it("each waiting sign-up keeps its own password and profile; the one whose link is used makes the account", async () => {
      const email = uniqueEmail("twice")
      const first = await signUp({ email, password: attackerPassword, username: `first_${Date.now()}` })
      await nthMail(email, 1)
      const second = await signUp({ email, password: victimPassword, username: `second_${Date.now()}` })
      const secondMail = await nthMail(email, 2)
      const firstMail = await nthMail(email, 1)
      // The second sign-up did not touch the first one: its link makes the first one's account.
      const verified = await verify({ token: decodeURIComponent(verificationOf(firstMail).token) })
      expect(verified.status).toBe(200)
      expect(verified.body.user.id).toBe(first.body.user.id)
      expect(verified.body.user.username).toBe(first.body.user.username)
      expect((await signIn(email, attackerPassword)).status).toBe(200)
      // ...and the second's code is void.
      expectError(await verify({ email, code: verificationOf(secondMail).code }), 400, "invalid_code")
      expectError(await signIn(email, victimPassword), 401, "invalid_credentials")
      expect(second.body.user.id).not.toBe(first.body.user.id)
    })

    it("a sign-up for a verified account changes nothing and mails its owner no code", async () => {
      const owner = await account({ first_name: "Owner" })
      const before = await query(
        server.databaseUrl,
        `SELECT u.updated_at, u.first_name, h.hash FROM authsome_users u
         JOIN authsome_password_hashes h ON h.user_id = u.id WHERE u.id = $1`,
        [owner.id],
      )
      const again = await signUp({ email: owner.email, password: attackerPassword, first_name: "Mallory" })
      expect(again.status).toBe(201)
      expect(again.body.user.id).not.toBe(owner.id)
      const notice = await nthMail(owner.email, 1, /account/i)
      expect(notice.text).not.toMatch(/\b\d{6}\b/)
      expect(notice.text).not.toContain("token=")
      expect(
        await query(
          server.databaseUrl,
          `SELECT u.updated_at, u.first_name, h.hash FROM authsome_users u
           JOIN authsome_password_hashes h ON h.user_id = u.id WHERE u.id = $1`,
          [owner.id],
        ),
      ).toEqual(before)
      expectError(await signIn(owner.email, attackerPassword), 401, "invalid_credentials")
      expect((await signIn(owner.email, strongPassword)).status).toBe(200)
    })
  })

  it("username_taken never depends on whether the email is registered (finding 2)", async () => {
    const username = `holder_${Date.now()}`
    const holder = await account({ username })
    const registered = await account()
    for (const email of [holder.email, registered.email, uniqueEmail("fresh")]) {
      for (const name of [username, username.toUpperCase()]) {
        const response = await signUp({ email, password: strongPassword, username: name })
        expectError(response, 409, "username_taken")
      }
    }
    // A free username with a registered email: the usual answer, nothing about the email.
    const free = await signUp({ email: registered.email, password: strongPassword, username: `free_${Date.now()}` })
    expect(free.status).toBe(201)
  })

  describe("codes (finding 3)", () => {
    it("of 30 concurrent wrong guesses at most 5 are compared; the count stops at 5 and the code is void", async () => {
      const email = uniqueEmail("race")
      await signUp({ email, password: strongPassword })
      const { code } = verificationOf(await nthMail(email, 1))
      const wrong = code === "000000" ? "111111" : "000000"
      const answers = await Promise.all(Array.from({ length: 30 }, () => verify({ email, code: wrong })))
      const compared = answers.filter((r) => r.status === 400)
      const refused = answers.filter((r) => r.status === 429)
      expect(compared.length + refused.length).toBe(30)
      expect(compared.length).toBeLessThanOrEqual(5)
      for (const r of compared) expectError(r, 400, "invalid_code")
      for (const r of refused) expectError(r, 429, "too_many_attempts")
      const rows = await query(server.databaseUrl, "SELECT attempts FROM authsome_verifications WHERE email = $1", [
        email,
      ])
      expect(rows).toEqual([{ attempts: 5 }])
      expectError(await verify({ email, code }), 429, "too_many_attempts")
    })

    it("the right code in a burst of 20 wrong ones is only accepted within the 5 comparisons allowed (6 runs)", async () => {
      for (let run = 0; run < 6; run++) {
        const email = uniqueEmail(`burst${run}`)
        await signUp({ email, password: strongPassword })
        const { code } = verificationOf(await nthMail(email, 1))
        const wrong = code === "000000" ? "111111" : "000000"
        const guesses = [...Array.from({ length: 20 }, () => wrong), code]
        const answers = await Promise.all(guesses.map((guess) => verify({ email, code: guess })))
        const accepted = answers.filter((r) => r.status === 200).length
        const rejected = answers.filter((r) => r.status === 400).length
        expect(accepted).toBeLessThanOrEqual(1)
        // Every 200 or 400 is a comparison: never more than five.
        expect(accepted + rejected, `run ${run}`).toBeLessThanOrEqual(5)
        const rows = await query(server.databaseUrl, "SELECT attempts FROM authsome_verifications WHERE email = $1", [
          email,
        ])
        expect(rows[0]!["attempts"]).toBeLessThanOrEqual(5)
      }
    })
  })

  describe("answers alike (finding 7)", () => {
    it("verify-email: an unknown address and a pending one answer alike, too_many_attempts included, and resend resets both", async () => {
      const pending = uniqueEmail("pending")
      await signUp({ email: pending, password: strongPassword })
      const { code } = verificationOf(await nthMail(pending, 1))
      const wrong = code === "000000" ? "111111" : "000000"
      const unknown = uniqueEmail("unknown")
      const sequence = async (email: string) => {
        const answers = []
        for (let i = 0; i < 7; i++) answers.push(await verify({ email, code: wrong }))
        return answers
      }
      const [ofPending, ofUnknown] = [await sequence(pending), await sequence(unknown)]
      const statuses = (answers: typeof ofPending) => answers.map((r) => `${r.status} ${r.body.type}`)
      expect(statuses(ofPending)).toEqual([
        ...Array(4).fill("400 invalid_code"),
        ...Array(3).fill("429 too_many_attempts"),
      ])
      expect(statuses(ofUnknown)).toEqual(statuses(ofPending))
      for (let i = 0; i < 7; i++) {
        expect(ofUnknown[i]!.body).toEqual(ofPending[i]!.body)
        expect(stableHeaders(ofUnknown[i]!)).toEqual(stableHeaders(ofPending[i]!))
      }
      // A resend: a new code for the pending address, a clean slate for the unknown one.
      for (const email of [pending, unknown])
        expect((await client().post("/verify-email/resend", { email })).status).toBe(200)
      await nthMail(pending, 2)
      expectError(await verify({ email: pending, code: wrong }), 400, "invalid_code")
      expectError(await verify({ email: unknown, code: wrong }), 400, "invalid_code")
    })

    it("verify-email: a wrong code for a pending address and for an unknown one take about the same time", async () => {
      // Four wrong guesses per pending address before its code is void: enough addresses for every sample.
      const pendings: Array<string> = []
      for (let i = 0; i < 10; i++) {
        const email = uniqueEmail("pool")
        await signUp({ email, password: strongPassword })
        pendings.push(email)
      }
      for (const email of pendings) await nthMail(email, 1)
      let calls = 0
      const timing = await compareTimings(
        () => verify({ email: uniqueEmail("nobody"), code: "123456" }),
        async () => {
          const answer = await verify({ email: pendings[Math.floor(calls++ / 4)]!, code: "123456" })
          expect(answer.status).toBe(400)
        },
        { samples: 12, rounds: 3, tolerance: 0.25 },
      )
      expect(timing.gap, JSON.stringify(timing)).toBeLessThanOrEqual(0.25)
    })

    it("sign-up: a registered email and a new one take about the same time (medians of interleaved samples)", async () => {
      // Cheap hashes, so the database work is most of the time: what differs between the branches would show.
      const cheap = await startServer({
        config: { plugins: [Password.plugin({ hash: { memoryCost: 1024, timeCost: 1 } })] },
        databaseUrl: server.databaseUrl,
        smtp: server.smtp,
      })
      try {
        const registered = await account()
        const at = new CheckedClient(cheap.base)
        const timing = await compareTimings(
          () => at.post("/signup", { email: uniqueEmail("timing"), password: attackerPassword }),
          () => at.post("/signup", { email: registered.email, password: attackerPassword }),
          { samples: 16, rounds: 5, tolerance: 0.2 },
        )
        expect(timing.gap, JSON.stringify(timing)).toBeLessThanOrEqual(0.2)
      } finally {
        await cheap.close()
      }
    })

    it("forgot-password and resend: known, pending and unknown addresses take about the same time", async () => {
      const known = await account()
      const pending = uniqueEmail("pending")
      await signUp({ email: pending, password: strongPassword })
      await nthMail(pending, 1)
      for (const [path, a, b] of [
        ["/forgot-password", known.email, () => uniqueEmail("nobody")],
        ["/verify-email/resend", pending, () => uniqueEmail("nobody")],
      ] as const) {
        const timing = await compareTimings(
          () => client().post(path, { email: a }),
          () => client().post(path, { email: b() }),
          { samples: 16, rounds: 5, tolerance: 0.25 },
        )
        expect(timing.gap, `${path}: ${JSON.stringify(timing)}`).toBeLessThanOrEqual(0.25)
      }
    })
  })

  it("deleting the account removes the address from the verifications and the outbox (finding 12)", async () => {
    const user = await account()
    expect((await client().post("/forgot-password", { email: user.email })).status).toBe(200)
    await nthMail(user.email, 1, /reset/i)
    const held = await query(
      server.databaseUrl,
      "SELECT (SELECT count(*) FROM authsome_notifications WHERE recipient = $1) AS mails, (SELECT count(*) FROM authsome_verifications WHERE email = $1) AS codes",
      [user.email],
    )
    expect(held[0]).toEqual({ mails: "2", codes: "1" })
    expect((await client().delete("/me", { token: user.token, cookies: false })).status).toBe(200)
    const left = await query(
      server.databaseUrl,
      `SELECT table_name, count FROM (
         SELECT 'notifications' AS table_name, count(*) FROM authsome_notifications WHERE recipient = $1 OR body LIKE $2
         UNION ALL SELECT 'verifications', count(*) FROM authsome_verifications WHERE email = $1
         UNION ALL SELECT 'users', count(*) FROM authsome_users WHERE email = $1
       ) counts`,
      [user.email, `%${user.email}%`],
    )
    expect(left).toEqual([
      { table_name: "notifications", count: "0" },
      { table_name: "verifications", count: "0" },
      { table_name: "users", count: "0" },
    ])
    // The sent mail is still counted, under a placeholder.
    const scrubbed = await query(
      server.databaseUrl,
      "SELECT recipient FROM authsome_notifications WHERE user_id = $1",
      [user.id],
    )
    for (const row of scrubbed) expect(row["recipient"]).toBe(`deleted+${user.id}@deleted.invalid`)
  })
})

describe("without a configured secret (finding 10)", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ withoutSecret: true })
  })
  afterAll(() => server?.close())

  it("a database dump does not give a live code away: no built-in key reproduces its hash", async () => {
    const email = uniqueEmail("dump")
    expect((await new CheckedClient(server.base).post("/signup", { email, password: strongPassword })).status).toBe(201)
    const deadline = Date.now() + 10_000
    while (!server.smtp.received.some((m) => m.to.includes(email)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    const { code } = verificationOf(server.smtp.received.find((m) => m.to.includes(email))!)
    const [row] = await query(server.databaseUrl, "SELECT id, code_hash FROM authsome_verifications WHERE email = $1", [
      email,
    ])
    const { id, code_hash: stored } = row as { id: string; code_hash: string }
    // The code works (its key lives in the server); the dump still holds its hash.
    expect((await new CheckedClient(server.base).post("/verify-email", { email, code })).status).toBe(200)
    // What the engine did before: HMAC keyed by a constant, salted with the row id. Every code under every
    // constant a dump reader would try.
    const candidates = ["authsome", "", "secret", "changeme"]
    const hashOf = (key: string, guess: string) =>
      createHmac("sha256", key).update(id).update("\u0000").update(guess).digest("hex")
    for (const key of candidates) expect(hashOf(key, code)).not.toBe(stored)
    let recovered: string | undefined
    for (let n = 0; n < 1_000_000 && recovered === undefined; n++) {
      const guess = n.toString().padStart(6, "0")
      if (hashOf("authsome", guess) === stored) recovered = guess
    }
    expect(recovered).toBeUndefined()
  }, 60_000)
})
