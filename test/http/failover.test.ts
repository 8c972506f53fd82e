/**
 * Failover drill: a primary with a synchronous streaming standby (`synchronous_standby_names = '*'`,
 * `synchronous_commit = on`: a commit is acknowledged once the standby has it). Two instances take writes (org
 * invitations: the invitation and its mail in one transaction) and session checks; the primary crashes mid-traffic, the
 * standby is promoted, instance A keeps its address (a proxy now pointing at the standby) and instance B restarts on
 * the standby's URL. In the gap every answer is 503 `unavailable` with Retry-After, never a 500; A's pool recovers by
 * itself; every acknowledged invitation is on the new primary, and its mail and its `org.member.invited` webhook
 * event arrive, each as one message (a copy resent after the lease carries the same Message-ID / webhook-id).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Organization from "../../src/plugins/organization/index.js"
import * as Password from "../../src/plugins/password/index.js"
import { type Cluster, startPrimary, startStandby } from "../support/cluster.js"
import { Client, fastMail, signUpAndSignIn, startServer, type TestServer, uniqueEmail } from "../support/http.js"
import { makeProxy } from "../support/proxy.js"
import { TestSmtp } from "../support/smtp.js"
import { type Receiver, startReceiver } from "../support/webhooks.js"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Answer {
  readonly instance: "a" | "b"
  readonly kind: "invite" | "session"
  readonly at: number
  readonly status: number
  readonly type: string | undefined
  readonly retryAfter: string | null
  readonly email?: string
}

describe("failover drill", () => {
  let primary: Awaited<ReturnType<typeof startPrimary>>
  let standby: Cluster
  let proxy: ReturnType<typeof makeProxy>
  let smtp: TestSmtp
  let receiver: Receiver
  let a: TestServer
  let b: TestServer | undefined

  const config = {
    publicUrl: "https://app.example.com",
    emailVerification: { required: false },
    plugins: [Password.plugin(), Organization.plugin()],
    // A mail claimed just before the cut and never sent is due again after the lease.
    mail: { dispatcher: { ...fastMail, lease: "4 seconds", sendTimeout: "2 seconds" } },
    // Lease: four times the timeout plus 5 s.
    webhooks: {
      allowPrivateTargets: true,
      pollInterval: "100 millis",
      timeout: "1 second",
      retrySchedule: ["200 millis", "500 millis", "1 second", "2 seconds"],
    },
  }

  beforeAll(async () => {
    primary = await startPrimary()
    standby = await startStandby(primary)
    await primary.query("ALTER SYSTEM SET synchronous_standby_names = '*'")
    await primary.query("SELECT pg_reload_conf()")
    for (let attempt = 0; ; attempt++) {
      const rows = await primary.query("SELECT sync_state FROM pg_stat_replication")
      if (rows[0]?.sync_state === "sync") break
      if (attempt > 200) throw new Error("the standby did not become synchronous")
      await sleep(50)
    }
    proxy = makeProxy("127.0.0.1", primary.port)
    const proxyPort = await proxy.start(0)
    const viaProxy = `postgres://postgres@127.0.0.1:${proxyPort}/postgres`
    smtp = await TestSmtp.create()
    receiver = await startReceiver()
    a = await startServer({ databaseUrl: viaProxy, smtp, config, quiet: true })
    b = await startServer({ databaseUrl: primary.url(), smtp, config, quiet: true })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await proxy?.stop()
    await smtp?.stop()
    await receiver?.close()
    await standby?.remove()
    await primary?.remove()
  })

  it("503s only in the gap, recovery by itself, no acknowledged write, mail or webhook event lost or doubled", async () => {
    const owner = await signUpAndSignIn(a, new Client(a.base))
    const org = await new Client(a.base).post(
      "/orgs",
      { name: "Drill Inc", slug: "drill" },
      { token: owner.session_token },
    )
    expect(org.status).toBe(201)
    const webhook = await new Client(a.base).post(
      "/webhooks",
      { url: receiver.url, events: ["org.member.invited"] },
      { token: owner.session_token },
    )
    expect(webhook.status).toBe(201)
    receiver.secret = webhook.body.secret

    const answers: Array<Answer> = []
    let running = true
    let bRestarting = false
    let inFlightOnB = 0
    const worker = async (instance: "a" | "b") => {
      while (running) {
        const server = instance === "a" ? a : b
        if (server === undefined || bRestarting) {
          await sleep(20)
          continue
        }
        const client = new Client(server.base)
        const email = uniqueEmail("invitee")
        if (instance === "b") inFlightOnB++
        const invite = await client.post(`/orgs/${org.body.id}/invitations`, { email }, { token: owner.session_token })
        answers.push({
          instance,
          kind: "invite",
          at: Date.now(),
          status: invite.status,
          type: invite.body?.type,
          retryAfter: invite.headers.get("retry-after"),
          email,
        })
        const session = await client.get("/session", { token: owner.session_token, cookies: false })
        answers.push({
          instance,
          kind: "session",
          at: Date.now(),
          status: session.status,
          type: session.body?.type,
          retryAfter: session.headers.get("retry-after"),
        })
        if (instance === "b") inFlightOnB--
      }
    }
    const workers = [worker("a"), worker("a"), worker("b"), worker("b")]

    await sleep(800)
    const cutAt = Date.now()
    await primary.stop("immediate")
    await sleep(1_000)
    await standby.promote()
    proxy.retarget("127.0.0.1", standby.port)
    const promotedAt = Date.now()
    // B is pointed at the new primary by a restart with its URL.
    bRestarting = true
    while (inFlightOnB > 0) await sleep(10)
    await b?.close()
    b = await startServer({ databaseUrl: standby.url(), smtp, config, quiet: true })
    bRestarting = false
    await sleep(2_500)
    running = false
    await Promise.all(workers)

    // Every answer is a success or 503 unavailable with Retry-After; the gap did show.
    const unexpected = answers.filter(
      (answer) =>
        !(answer.status === 200 || answer.status === 201) &&
        !(answer.status === 503 && answer.type === "unavailable" && answer.retryAfter !== null),
    )
    expect(unexpected).toEqual([])
    const failed = answers.filter((answer) => answer.status === 503)
    expect(failed.length).toBeGreaterThan(0)
    expect(failed.every((answer) => answer.at >= cutAt)).toBe(true)

    // A (same address) recovers by itself, within seconds of the promotion.
    const recoveredAt = answers.find(
      (answer) => answer.instance === "a" && answer.at > promotedAt && answer.status < 300,
    )
    expect(recoveredAt).toBeDefined()
    const recovery = recoveredAt!.at - promotedAt
    expect(recovery).toBeLessThan(5_000)
    expect(
      answers.filter((answer) => answer.at > recoveredAt!.at && answer.instance === "a" && answer.status === 503),
    ).toEqual([])
    console.log(
      `failover drill: ${answers.length} answers, ${failed.length} × 503 in the gap, ` +
        `instance A answering ${recovery} ms after the promotion`,
    )

    // No acknowledged write lost: every invitation answered 201 is on the new primary.
    const acknowledged = answers.filter((answer) => answer.kind === "invite" && answer.status === 201)
    expect(acknowledged.length).toBeGreaterThan(10)
    const stored = new Set(
      (await standby.query<{ email: string }>("SELECT email FROM authsome_invitations")).map((row) => row.email),
    )
    expect(acknowledged.filter((answer) => !stored.has(answer.email!))).toEqual([])

    // The outbox lost nothing: every acknowledged invitation's mail arrives, as one message (one Message-ID). A mail
    // whose send could not be recorded before its instance went away (B, restarted while the database was down) is
    // sent again after the lease, with the same Message-ID.
    const emails = acknowledged.map((answer) => answer.email!)
    const deadline = Date.now() + 15_000
    const mailTo = (email: string) => smtp.received.filter((mail) => mail.to.includes(email))
    while (emails.some((email) => mailTo(email).length === 0) && Date.now() < deadline) await sleep(100)
    await sleep(1_000) // a copy would come now
    const messages = (email: string) => new Set(mailTo(email).map((mail) => mail.messageId))
    expect(emails.filter((email) => messages(email).size !== 1)).toEqual([])
    expect(emails.flatMap((email) => mailTo(email).map((mail) => mail.messageId))).not.toContain(undefined)
    const copies = emails.reduce((sum, email) => sum + mailTo(email).length - 1, 0)

    // Likewise every acknowledged invitation's webhook event arrives, verified, as one message (one webhook-id).
    const callsFor = (email: string) =>
      receiver.ofType("org.member.invited").filter((call) => call.payload?.data.email === email)
    await receiver.waitFor(() => emails.every((email) => callsFor(email).length > 0), 20_000)
    await sleep(1_000)
    expect(emails.filter((email) => new Set(callsFor(email).map((call) => call.id)).size !== 1)).toEqual([])
    const eventCopies = emails.reduce((sum, email) => sum + callsFor(email).length - 1, 0)
    console.log(
      `failover drill: ${emails.length} acknowledged invitations, each mailed (${copies} resent copies) ` +
        `and each delivered by webhook (${eventCopies} resent copies)`,
    )
  })
})
