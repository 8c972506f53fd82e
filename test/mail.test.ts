/**
 * Mail subsystem against a real SMTP server (smtp-server, started per test on a free port) and the memory store;
 * the outage test runs against PostgreSQL too when a server is reachable.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Clock, Context, Data, Duration, Effect, Layer, Logger, ManagedRuntime, Redacted, Schedule } from "effect"
import { type ParsedMail, simpleParser } from "mailparser"
import net from "node:net"
import { SMTPServer } from "smtp-server"
import { newId } from "../src/domain/ids.js"
import type * as M from "../src/domain/models.js"
import { MemoryStore } from "../src/layers/memory/index.js"
import * as Pg from "../src/layers/pg.js"
import { PostgresStore } from "../src/layers/postgres/index.js"
import { runMigrations } from "../src/migrations/runner.js"
import { allMigrationGroups } from "./support/schema.js"
import {
  defaultMailDispatcherSettings,
  escapeHtml,
  formatExpiry,
  InvalidSmtpUrl,
  MailDispatcher,
  type MailDispatcherSettings,
  Mailer,
  MailQueue,
  passwordResetEmail,
  retryDelay,
  verificationEmail,
} from "../src/services/mail/index.js"
import { AppStore, NotificationStore, Store, type StoreServices } from "../src/services/store/index.js"
import { createDatabase } from "./support/postgres.js"

// ---------------------------------------------------------------------------------------------------------------
// A real SMTP server

const smtpUser = "mailer"
const smtpPassword = "pa$$:w0rd/secret"
const mailFrom = "Acme <no-reply@acme.test>"

interface ReceivedMail {
  readonly envelopeTo: ReadonlyArray<string>
  readonly parsed: ParsedMail
}

const freePort = Effect.async<number>((resume) => {
  const probe = net.createServer()
  probe.listen(0, "127.0.0.1", () => {
    const address = probe.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    probe.close(() => resume(Effect.succeed(port)))
  })
})

class TestSmtpServer {
  readonly received: Array<ReceivedMail> = []
  /** When set, every RCPT TO is answered with this SMTP code (4xx: try later, 5xx: refused for good). */
  rejectRecipientsWith: number | undefined = undefined
  private server: SMTPServer | undefined

  constructor(readonly port: number) {}

  get recipients(): ReadonlyArray<string> {
    return this.received.flatMap((m) => m.envelopeTo)
  }

  readonly start = Effect.async<void>((resume) => {
    const server = new SMTPServer({
      logger: false,
      disabledCommands: ["STARTTLS"],
      allowInsecureAuth: true,
      authOptional: false,
      closeTimeout: 100,
      disableReverseLookup: true,
      onAuth: (auth, _session, callback) =>
        auth.username === smtpUser && auth.password === smtpPassword
          ? callback(null, { user: auth.username })
          : callback(new Error("Invalid username or password")),
      onRcptTo: (_address, _session, callback) => {
        const code = this.rejectRecipientsWith
        if (code === undefined) return callback()
        callback(Object.assign(new Error(code >= 500 ? "no such mailbox" : "try again later"), { responseCode: code }))
      },
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((parsed) => {
            this.received.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address), parsed })
            callback()
          })
          .catch((error: Error) => callback(error))
      },
    })
    this.server = server
    server.listen(this.port, "127.0.0.1", () => resume(Effect.void))
  })

  readonly stop = Effect.async<void>((resume) => {
    const server = this.server
    this.server = undefined
    if (server === undefined) return resume(Effect.void)
    server.close(() => resume(Effect.void))
  })
}

/** A server on a free port, stopped when the test's scope closes; started unless `started: false`. */
const smtpServer = (options: { readonly started?: boolean } = {}) =>
  Effect.gen(function* () {
    const server = new TestSmtpServer(yield* freePort)
    yield* Effect.addFinalizer(() => server.stop)
    if (options.started !== false) yield* server.start
    return server
  })

const smtpUrl = (port: number, password = smtpPassword) =>
  Redacted.make(`smtp://${smtpUser}:${encodeURIComponent(password)}@127.0.0.1:${port}`)

const smtpMailer = (port: number, password = smtpPassword) =>
  Mailer.smtp(smtpUrl(port, password), mailFrom, {
    connectionTimeout: "1 second",
    greetingTimeout: "1 second",
    socketTimeout: "3 seconds",
  }).pipe(Layer.orDie)

// ---------------------------------------------------------------------------------------------------------------
// Environment

const fastSettings: Partial<MailDispatcherSettings> = {
  pollInterval: "50 millis",
  retryBase: "20 millis",
  retryMax: "100 millis",
  wakeUpDelay: "5 millis",
  sendTimeout: "3 seconds",
}

type MailEnv = StoreServices | MailQueue

/** The store, MailQueue and a running dispatcher (sending with `mailer`), plus a logger capturing every line. */
const mailEnv = (
  mailer: Layer.Layer<Mailer>,
  store: Layer.Layer<StoreServices>,
  settings: Partial<MailDispatcherSettings> = {},
  logLines: Array<string> = [],
): Layer.Layer<MailEnv> =>
  Layer.mergeAll(MailQueue.Default, MailDispatcher.layer({ ...fastSettings, ...settings })).pipe(
    Layer.provide(mailer),
    Layer.provideMerge(store),
    // built inside the logger's scope, so the dispatcher's forked fiber logs through it too
    Layer.provide(captureLogs(logLines)),
  )

const captureLogs = (lines: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message, annotations, cause }) => {
      const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
      const extra = [...annotations].map(([k, v]) => `${k}=${String(v)}`).join(" ")
      lines.push(`${logLevel.label} ${text} ${extra} ${cause._tag === "Empty" ? "" : String(cause)}`)
    }),
  )

const secretsAbsent = (texts: ReadonlyArray<string>) => {
  for (const text of texts) {
    expect(text).not.toContain(smtpPassword)
    expect(text).not.toContain(encodeURIComponent(smtpPassword))
    expect(text).not.toContain("smtp://")
  }
}

/** Re-checks `read` until `done` holds, failing after `timeout`. */
const waitFor = <A, E, R>(
  label: string,
  read: Effect.Effect<A, E, R>,
  done: (a: A) => boolean,
  timeout: Duration.DurationInput = "5 seconds",
) =>
  read.pipe(
    Effect.filterOrFail(done, () => new Error(`still waiting for: ${label}`)),
    Effect.retry(Schedule.spaced("15 millis")),
    Effect.timeoutFail({ duration: timeout, onTimeout: () => new Error(`timed out waiting for: ${label}`) }),
    Effect.orDie,
  )

const getNotification = (id: M.Notification["id"]) =>
  Effect.flatMap(NotificationStore, (store) => store.get(id)).pipe(Effect.orDie)

const createApp = Effect.gen(function* () {
  const apps = yield* AppStore
  const now = new Date(yield* Clock.currentTimeMillis)
  const id = newId.app()
  return yield* apps
    .create({
      id,
      name: "Acme",
      slug: `acme-${id.slice(-8)}`,
      logo: null,
      publishableKey: `pk_test_${id.slice(-12)}`,
      isPlatform: false,
      metadata: null,
      createdAt: now,
      updatedAt: now,
    })
    .pipe(Effect.orDie)
})

const verificationLink = "https://auth.acme.test/verify-email?token=tok_abc&next=%2Fhome"

const enqueueVerification = (appId: M.App["id"], to: string, code = "123456") =>
  Effect.flatMap(MailQueue, (queue) =>
    queue.enqueue({
      appId,
      type: "email_verification",
      to,
      ...verificationEmail({ appName: "Acme", code, link: verificationLink, expiresInMinutes: 15 }),
    }),
  )

class Rollback extends Data.TaggedError("Rollback")<{ readonly id: M.Notification["id"] }> {}

// ---------------------------------------------------------------------------------------------------------------
// Shared scenario, run on the memory store and on PostgreSQL

/** SMTP first unreachable, then refusing with 451, then back: the mail waits, counts attempts, arrives once. */
const outageScenario = (store: Layer.Layer<StoreServices>) =>
  Effect.gen(function* () {
    const smtp = yield* smtpServer({ started: false })
    const logLines: Array<string> = []
    yield* Effect.gen(function* () {
      const app = yield* createApp
      const queued = yield* enqueueVerification(app.id, "bob@example.com")

      const down = yield* waitFor(
        "failed attempts while the server is down",
        getNotification(queued.id),
        (n) => n.attempts >= 2,
      )
      expect(down.status).toBe("pending")
      expect(down.lastError).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/)
      expect(down.body).toContain("123456")

      smtp.rejectRecipientsWith = 451
      yield* smtp.start
      const refused = yield* waitFor("a 451 refusal", getNotification(queued.id), (n) =>
        (n.lastError ?? "").includes("451"),
      )
      expect(refused.status).toBe("pending")
      expect(smtp.received).toHaveLength(0)

      smtp.rejectRecipientsWith = undefined
      const sent = yield* waitFor("the mail sent", getNotification(queued.id), (n) => n.status === "sent")
      expect(sent.attempts).toBeGreaterThan(refused.attempts)
      expect([sent.subject, sent.body, sent.html]).toEqual([null, null, null])
      // several more poll rounds: still exactly one copy
      yield* Effect.sleep("150 millis")
      expect(smtp.recipients).toEqual(["bob@example.com"])
      secretsAbsent([...logLines, down.lastError ?? "", refused.lastError ?? ""])
    }).pipe(Effect.provide(mailEnv(smtpMailer(smtp.port), store, { maxAttempts: 1000 }, logLines)))
  })

/** A mail enqueued in a transaction that then fails never exists, so it is never sent. */
const rollbackScenario = (store: Layer.Layer<StoreServices>) =>
  Effect.gen(function* () {
    const smtp = yield* smtpServer()
    yield* Effect.gen(function* () {
      const app = yield* createApp
      const { transaction } = yield* Store
      const rolledBack = yield* transaction(
        Effect.gen(function* () {
          const queued = yield* enqueueVerification(app.id, "rolled-back@example.com")
          // give the dispatcher time to react to the wake-up while the transaction is still open
          yield* Effect.sleep("100 millis")
          return yield* new Rollback({ id: queued.id })
        }),
      ).pipe(Effect.flip)
      const committed = yield* transaction(enqueueVerification(app.id, "committed@example.com"))

      yield* waitFor("the committed mail", getNotification(committed.id), (n) => n.status === "sent")
      yield* Effect.sleep("150 millis")
      expect(smtp.recipients).toEqual(["committed@example.com"])
      const missing = yield* Effect.flatMap(NotificationStore, (s) => s.get(rolledBack.id)).pipe(Effect.flip)
      expect(missing._tag).toBe("NotFound")
    }).pipe(Effect.provide(mailEnv(smtpMailer(smtp.port), store)))
  })

/** Two dispatchers on one outbox: every mail is sent exactly once. */
const twoDispatchersScenario = (store: Layer.Layer<StoreServices>) =>
  Effect.gen(function* () {
    const smtp = yield* smtpServer()
    const settings = { ...fastSettings, batchSize: 3 }
    const env = Layer.mergeAll(MailQueue.Default, MailDispatcher.layer(settings), MailDispatcher.layer(settings)).pipe(
      Layer.provide(smtpMailer(smtp.port)),
      Layer.provideMerge(store),
      Layer.provide(captureLogs([])),
    )
    yield* Effect.gen(function* () {
      const app = yield* createApp
      const recipients = Array.from({ length: 12 }, (_, i) => `user${i}@example.com`)
      yield* Effect.forEach(recipients, (to) => enqueueVerification(app.id, to), { discard: true })
      yield* waitFor(
        "all 12 mails",
        Effect.sync(() => smtp.received.length),
        (n) => n >= 12,
      )
      yield* Effect.sleep("150 millis")
      expect([...smtp.recipients].sort()).toEqual([...recipients].sort())
    }).pipe(Effect.provide(env))
  })

// ---------------------------------------------------------------------------------------------------------------

describe("mail templates", () => {
  it("verification: code, link and expiry in text and HTML, HTML escaped", () => {
    const mail = verificationEmail({
      appName: `Tom & Jerry's <App>`,
      code: "042917",
      link: verificationLink,
      expiresInMinutes: 15,
    })
    expect(mail.subject).toBe("Verify your email for Tom & Jerry's <App>")
    expect(mail.text).toContain("042917")
    expect(mail.text).toContain(verificationLink)
    expect(mail.text).toContain("15 minutes")
    expect(mail.html).toContain("042917")
    expect(mail.html).toContain(`href="${escapeHtml(verificationLink)}"`)
    expect(mail.html).toContain("Tom &amp; Jerry&#39;s &lt;App&gt;")
    expect(mail.html).not.toContain("<App>")
  })

  it("password reset: link and a one-hour expiry by default; only http(s) links become anchors", () => {
    const mail = passwordResetEmail({ appName: "Acme", link: "https://auth.acme.test/reset?token=t1" })
    expect(mail.text).toContain("https://auth.acme.test/reset?token=t1")
    expect(mail.text).toContain("1 hour")
    expect(mail.html).toContain(`href="https://auth.acme.test/reset?token=t1"`)
    const hostile = passwordResetEmail({ appName: "Acme", link: `javascript:alert("x")` })
    expect(hostile.html).not.toContain("href=")
    expect(hostile.html).toContain("javascript:alert(&quot;x&quot;)")
  })

  it("formats expiries and escapes HTML", () => {
    expect([1, 15, 60, 90, 120].map(formatExpiry)).toEqual([
      "1 minute",
      "15 minutes",
      "1 hour",
      "90 minutes",
      "2 hours",
    ])
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
  })

  it("backoff doubles from retryBase up to retryMax", () => {
    const delays = [1, 2, 3, 4, 8, 9, 10, 50].map((n) =>
      Duration.toMillis(retryDelay(n, defaultMailDispatcherSettings)),
    )
    expect(delays).toEqual([5_000, 10_000, 20_000, 40_000, 640_000, 900_000, 900_000, 900_000])
  })
})

describe("mail over SMTP (memory store)", () => {
  it.scopedLive("delivers a queued mail, then clears its content", () =>
    Effect.gen(function* () {
      const smtp = yield* smtpServer()
      const logLines: Array<string> = []
      yield* Effect.gen(function* () {
        const app = yield* createApp
        const queued = yield* enqueueVerification(app.id, "alice@example.com", "987654")
        expect(queued.status).toBe("pending")

        const [received] = yield* waitFor(
          "the mail",
          Effect.sync(() => smtp.received),
          (r) => r.length > 0,
        )
        expect(received!.envelopeTo).toEqual(["alice@example.com"])
        const { parsed } = received!
        expect(parsed.subject).toBe("Verify your email for Acme")
        expect(parsed.from?.text).toContain("no-reply@acme.test")
        expect(parsed.text).toContain("987654")
        expect(parsed.text).toContain(verificationLink)
        expect(parsed.html || "").toContain("987654")
        expect(parsed.html || "").toContain(escapeHtml(verificationLink))

        const sent = yield* waitFor("status sent", getNotification(queued.id), (n) => n.status === "sent")
        expect(sent.subject).toBeNull()
        expect(sent.body).toBeNull()
        expect(sent.html).toBeNull()
        expect(sent.sentAt).not.toBeNull()
        expect(sent.attempts).toBe(1)
        expect(sent.recipient).toBe("alice@example.com")
        secretsAbsent(logLines)
        expect(logLines.join("\n")).not.toContain("987654")
      }).pipe(Effect.provide(mailEnv(smtpMailer(smtp.port), MemoryStore.layer, {}, logLines)))
    }),
  )

  it.scopedLive("SMTP down or refusing: the mail stays pending, retries, and arrives exactly once", () =>
    outageScenario(MemoryStore.layer),
  )

  it.scopedLive("a mail enqueued in a transaction that fails is never sent", () => rollbackScenario(MemoryStore.layer))

  it.scopedLive("after maxAttempts failures the mail is failed for good", () =>
    Effect.gen(function* () {
      const smtp = yield* smtpServer({ started: false })
      yield* Effect.gen(function* () {
        const app = yield* createApp
        const queued = yield* enqueueVerification(app.id, "carol@example.com")
        const failed = yield* waitFor("status failed", getNotification(queued.id), (n) => n.status === "failed")
        expect(failed.attempts).toBe(3)
        expect(failed.lastError).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/)
        // no further attempts once failed, even with the server back
        yield* smtp.start
        yield* Effect.sleep("150 millis")
        expect((yield* getNotification(queued.id)).attempts).toBe(3)
        expect(smtp.received).toHaveLength(0)
      }).pipe(Effect.provide(mailEnv(smtpMailer(smtp.port), MemoryStore.layer, { maxAttempts: 3 })))
    }),
  )

  it.scopedLive("a permanent refusal (550) fails the mail at once", () =>
    Effect.gen(function* () {
      const smtp = yield* smtpServer()
      smtp.rejectRecipientsWith = 550
      yield* Effect.gen(function* () {
        const app = yield* createApp
        const queued = yield* enqueueVerification(app.id, "nobody@example.com")
        const failed = yield* waitFor("status failed", getNotification(queued.id), (n) => n.status === "failed")
        expect(failed.attempts).toBe(1)
        expect(failed.lastError).toContain("550")
      }).pipe(Effect.provide(mailEnv(smtpMailer(smtp.port), MemoryStore.layer)))
    }),
  )

  it.scopedLive("a wake-up sends at once, without waiting for the poll interval", () =>
    Effect.gen(function* () {
      const smtp = yield* smtpServer()
      yield* Effect.gen(function* () {
        const app = yield* createApp
        // let the dispatcher's first round pass, so it is waiting on its (one-minute) poll
        yield* Effect.sleep("100 millis")
        yield* enqueueVerification(app.id, "dave@example.com")
        yield* waitFor(
          "the mail",
          Effect.sync(() => smtp.received.length),
          (n) => n === 1,
          "2 seconds",
        )
      }).pipe(Effect.provide(mailEnv(smtpMailer(smtp.port), MemoryStore.layer, { pollInterval: "1 minute" })))
    }),
  )

  it.scopedLive("two dispatchers on one outbox send every mail exactly once", () =>
    twoDispatchersScenario(MemoryStore.layer),
  )

  it.scopedLive("store errors and mailer defects never stop the dispatcher", () =>
    Effect.gen(function* () {
      const logLines: Array<string> = []
      const sentTo: Array<string> = []
      let claimCalls = 0
      let sendCalls = 0
      // claimDue dies on its first two calls (database down), the mailer dies on its first send
      const flakyStore = Layer.effectContext(
        Effect.gen(function* () {
          const context = yield* Effect.context<StoreServices>()
          const real = Context.get(context, NotificationStore)
          return Context.add(context, NotificationStore, {
            ...real,
            claimDue: (now, limit, leaseUntil) =>
              ++claimCalls <= 2 ? Effect.die(new Error("database unreachable")) : real.claimDue(now, limit, leaseUntil),
          })
        }),
      ).pipe(Layer.provide(MemoryStore.layer))
      const flakyMailer = Layer.succeed(Mailer, {
        send: (mail) =>
          ++sendCalls === 1 ? Effect.die(new Error("mailer bug")) : Effect.sync(() => void sentTo.push(mail.to)),
      })
      yield* Effect.gen(function* () {
        const app = yield* createApp
        const queued = yield* enqueueVerification(app.id, "grace@example.com")
        const sent = yield* waitFor("status sent", getNotification(queued.id), (n) => n.status === "sent")
        expect(sent.attempts).toBe(2)
        expect(sentTo).toEqual(["grace@example.com"])
        expect(logLines.some((l) => l.includes("mail dispatch round failed"))).toBe(true)
        expect(logLines.some((l) => l.includes("mailer defect"))).toBe(true)
      }).pipe(Effect.provide(mailEnv(flakyMailer, flakyStore, {}, logLines)))
    }),
  )

  it.scopedLive("errors and logs never show the SMTP URL or password", () =>
    Effect.gen(function* () {
      const smtp = yield* smtpServer()
      const wrongPassword = "wr0ng-pa$$word"
      const error = yield* Effect.flatMap(Mailer, (mailer) =>
        mailer.send({ to: "erin@example.com", subject: "Hi", text: "Hello" }),
      ).pipe(Effect.flip, Effect.provide(smtpMailer(smtp.port, wrongPassword)))
      expect(error._tag).toBe("MailDeliveryError")
      expect(error.permanent).toBe(false) // a credentials problem is fixed by the operator, then retried
      expect(error.message).toContain("EAUTH")
      for (const text of [error.message, String(error), JSON.stringify(error)]) {
        expect(text).not.toContain(wrongPassword)
        expect(text).not.toContain(encodeURIComponent(wrongPassword))
        expect(text).not.toContain("smtp://")
      }

      const invalid = yield* Layer.build(Mailer.smtp(Redacted.make("http://user:hunter2@host"), mailFrom)).pipe(
        Effect.flip,
      )
      expect(invalid).toBeInstanceOf(InvalidSmtpUrl)
      expect(JSON.stringify(invalid)).not.toContain("hunter2")
    }),
  )

  it.scopedLive("the log mailer writes the whole mail to the log", () =>
    Effect.gen(function* () {
      const logLines: Array<string> = []
      yield* Effect.gen(function* () {
        const app = yield* createApp
        const queued = yield* enqueueVerification(app.id, "frank@example.com", "555111")
        yield* waitFor("status sent", getNotification(queued.id), (n) => n.status === "sent")
        const line = logLines.find((l) => l.includes("frank@example.com"))
        expect(line).toBeDefined()
        expect(line).toContain("Verify your email for Acme")
        expect(line).toContain("555111")
        expect(line).toContain(verificationLink)
      }).pipe(Effect.provide(mailEnv(Mailer.log, MemoryStore.layer, {}, logLines)))
    }),
  )
})

describe("mail over SMTP (PostgreSQL store)", () => {
  let db: Awaited<ReturnType<typeof createDatabase>> | undefined
  beforeAll(async () => {
    db = await createDatabase("mail")
    const runtime = ManagedRuntime.make(Pg.layer(db.url, { maxConnections: 1, minConnections: 0 }))
    try {
      await runtime.runPromise(runMigrations(allMigrationGroups))
    } finally {
      await runtime.dispose()
    }
  })
  afterAll(() => db?.drop())

  const postgresStore = (): Layer.Layer<StoreServices> =>
    PostgresStore.layer.pipe(Layer.provide(Pg.layer(db!.url, { maxConnections: 8, minConnections: 0 })), Layer.orDie)

  it.scopedLive("SMTP down or refusing: the mail stays pending, retries, and arrives exactly once", () =>
    outageScenario(postgresStore()),
  )

  it.scopedLive("a mail enqueued in a transaction that fails is never sent", () => rollbackScenario(postgresStore()))

  it.scopedLive("two dispatchers on one outbox send every mail exactly once (SKIP LOCKED)", () =>
    twoDispatchersScenario(postgresStore()),
  )
})
