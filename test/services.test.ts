/**
 * The core services without HTTP, on the memory store, under `TestClock`: time is only what the test says it is, so
 * expiry, rotation and activity tracking are checked at their exact boundaries.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Option, TestClock } from "effect"
import { AuthsomeServices } from "../src/authsome.js"
import { MemoryStore } from "../src/layers/memory/index.js"
import { Migrator } from "../src/migrations/migrator.js"
import { Accounts } from "../src/services/accounts.js"
import type { ClientContext } from "../src/services/context.js"
import { Mailer, type OutgoingMail } from "../src/services/mail/index.js"
import { Sessions } from "../src/services/sessions.js"
import { SessionStore, UserStore } from "../src/services/store/index.js"
import { Tenancy } from "../src/services/tenancy.js"
import { makeUser } from "../src/conformance/fixtures.js"

/** The engine's services on a fresh memory store, with a mailer that keeps what it is given. */
const services = (outbox: Array<OutgoingMail>) =>
  AuthsomeServices.layer({
    session: { tokenTtl: "1 hour", refreshTokenTtl: "1 day" },
    emailVerification: { codeTtl: "15 minutes", maxAttempts: 3 },
    secret: "a test secret of at least thirty-two characters",
    // The dispatchers wake on each queued mail or delivery; no polling, so advancing the clock by days stays cheap.
    mail: { dispatcher: { pollInterval: "365 days", wakeUpDelay: "1 millis" } },
    webhooks: { pollInterval: "365 days" },
    mailer: Layer.succeed(Mailer, { send: (mail) => Effect.sync(() => void outbox.push(mail)) }),
  }).pipe(Layer.provideMerge(Migrator.layer([])), Layer.provideMerge(MemoryStore.layer))

const withServices = <A, E, R>(effect: (outbox: Array<OutgoingMail>) => Effect.Effect<A, E, R>) => {
  const outbox: Array<OutgoingMail> = []
  return Effect.provide(effect(outbox), services(outbox))
}

const client = Effect.gen(function* () {
  const tenancy = yield* Tenancy
  const tenant = yield* tenancy.resolve(undefined)
  return { ...tenant, ip: "203.0.113.7", userAgent: "test" } satisfies ClientContext
})

const newUser = (ctx: ClientContext, overrides: Parameters<typeof makeUser>[1] = {}) =>
  Effect.flatMap(UserStore, (users) => users.create(makeUser({ app: ctx.app, env: ctx.env }, overrides)))

describe("Sessions (TestClock)", () => {
  it.effect("a token validates until the last millisecond of its TTL, then is SessionExpired", () =>
    withServices(() =>
      Effect.gen(function* () {
        const sessions = yield* Sessions
        const ctx = yield* client
        const user = yield* newUser(ctx)
        const { sessionToken } = yield* sessions.issue(user, ctx)
        yield* TestClock.adjust(Duration.toMillis("1 hour") - 1)
        expect((yield* sessions.validate(sessionToken, ctx)).user.id).toBe(user.id)
        yield* TestClock.adjust(1)
        const expired = yield* Effect.either(sessions.validate(sessionToken, ctx))
        expect(Either.isLeft(expired) && expired.left._tag).toBe("SessionExpired")
      }),
    ),
  )

  it.effect("refresh rotates both tokens, extends the expiry from now, and the old ones stop working", () =>
    withServices(() =>
      Effect.gen(function* () {
        const sessions = yield* Sessions
        const ctx = yield* client
        const user = yield* newUser(ctx)
        const first = yield* sessions.issue(user, ctx)
        yield* TestClock.adjust("50 minutes")
        const second = yield* sessions.refresh(first.refreshToken, ctx)
        expect(second.session.id).toBe(first.session.id)
        expect(second.session.expiresAt.getTime() - first.session.expiresAt.getTime()).toBe(
          Duration.toMillis("50 minutes"),
        )
        expect(Either.isLeft(yield* Effect.either(sessions.validate(first.sessionToken, ctx)))).toBe(true)
        expect((yield* sessions.validate(second.sessionToken, ctx)).session.id).toBe(first.session.id)
        // The rotated refresh token, presented long after its rotation, is reuse: the family is gone.
        yield* TestClock.adjust("5 minutes")
        expect(Either.isLeft(yield* Effect.either(sessions.refresh(first.refreshToken, ctx)))).toBe(true)
        expect(Either.isLeft(yield* Effect.either(sessions.validate(second.sessionToken, ctx)))).toBe(true)
      }),
    ),
  )

  it.effect("a refresh token past its own TTL is refused and its session removed", () =>
    withServices(() =>
      Effect.gen(function* () {
        const sessions = yield* Sessions
        const ctx = yield* client
        const user = yield* newUser(ctx)
        const issued = yield* sessions.issue(user, ctx)
        yield* TestClock.adjust("1 day")
        expect(Either.isLeft(yield* Effect.either(sessions.refresh(issued.refreshToken, ctx)))).toBe(true)
        const stored = yield* Effect.either((yield* SessionStore).get(issued.session.id))
        expect(Either.isLeft(stored)).toBe(true)
      }),
    ),
  )

  it.effect("activity is written at most once a minute", () =>
    withServices(() =>
      Effect.gen(function* () {
        const sessions = yield* Sessions
        const store = yield* SessionStore
        const ctx = yield* client
        const user = yield* newUser(ctx)
        const { session, sessionToken } = yield* sessions.issue(user, ctx)
        const activity = Effect.map(store.get(session.id), (s) => s.lastActivityAt.getTime())
        const started = yield* activity
        yield* TestClock.adjust("59 seconds")
        yield* sessions.validate(sessionToken, ctx)
        expect(yield* activity).toBe(started)
        yield* TestClock.adjust("1 second")
        yield* sessions.validate(sessionToken, ctx)
        expect(yield* activity).toBe(started + 60_000)
      }),
    ),
  )
})

describe("Accounts (TestClock)", () => {
  /** The 6-digit code of the newest mail to `to`, once the dispatcher has sent it. */
  const mailedCode = (outbox: ReadonlyArray<OutgoingMail>, to: string) =>
    Effect.gen(function* () {
      yield* TestClock.adjust("2 seconds")
      const mail = [...outbox].reverse().find((m) => m.to === to)
      expect(mail, `a mail to ${to}`).toBeDefined()
      return /\b(\d{6})\b/.exec(mail!.text)![1]!
    })

  it.effect("the mailed code verifies the email within its TTL, once", () =>
    withServices((outbox) =>
      Effect.gen(function* () {
        const accounts = yield* Accounts
        const ctx = yield* client
        const user = yield* newUser(ctx, { emailVerified: false })
        yield* accounts.startEmailVerification(user, ctx)
        const code = yield* mailedCode(outbox, user.email)
        yield* TestClock.adjust("14 minutes")
        const verified = yield* accounts.verifyEmail({ email: user.email, code }, ctx)
        expect(verified.emailVerified).toBe(true)
        const again = yield* Effect.either(accounts.verifyEmail({ email: user.email, code }, ctx))
        expect(Either.isLeft(again) && again.left._tag).toBe("InvalidCode")
      }),
    ),
  )

  it.effect("a code is void once its TTL has passed", () =>
    withServices((outbox) =>
      Effect.gen(function* () {
        const accounts = yield* Accounts
        const ctx = yield* client
        const user = yield* newUser(ctx, { emailVerified: false })
        yield* accounts.startEmailVerification(user, ctx)
        const code = yield* mailedCode(outbox, user.email)
        yield* TestClock.adjust("15 minutes")
        const late = yield* Effect.either(accounts.verifyEmail({ email: user.email, code }, ctx))
        expect(Either.isLeft(late) && late.left._tag).toBe("InvalidCode")
        const stored = yield* (yield* UserStore).get(user.id)
        expect(stored.emailVerified).toBe(false)
      }),
    ),
  )

  it.effect("wrong guesses are counted: after maxAttempts the code is void, the right one included", () =>
    withServices((outbox) =>
      Effect.gen(function* () {
        const accounts = yield* Accounts
        const ctx = yield* client
        const user = yield* newUser(ctx, { emailVerified: false })
        yield* accounts.startEmailVerification(user, ctx)
        const code = yield* mailedCode(outbox, user.email)
        const wrong = code === "000000" ? "111111" : "000000"
        const tags: Array<string> = []
        for (let i = 0; i < 3; i++) {
          const attempt = yield* Effect.either(accounts.verifyEmail({ email: user.email, code: wrong }, ctx))
          tags.push(Either.isLeft(attempt) ? attempt.left._tag : "Right")
        }
        expect(tags).toEqual(["InvalidCode", "InvalidCode", "TooManyAttempts"])
        const right = yield* Effect.either(accounts.verifyEmail({ email: user.email, code }, ctx))
        expect(Either.isLeft(right)).toBe(true)
      }),
    ),
  )

  it.effect("deleting the account revokes its sessions and frees the email", () =>
    withServices(() =>
      Effect.gen(function* () {
        const accounts = yield* Accounts
        const sessions = yield* Sessions
        const ctx = yield* client
        const user = yield* newUser(ctx)
        const { sessionToken } = yield* sessions.issue(user, ctx)
        yield* accounts.deleteAccount(user, ctx)
        expect(Either.isLeft(yield* Effect.either(sessions.validate(sessionToken, ctx)))).toBe(true)
        const reused = yield* Effect.option((yield* UserStore).getByEmail(ctx.app.id, ctx.env.id, user.email))
        expect(Option.isNone(reused)).toBe(true)
        expect((yield* newUser(ctx, { email: user.email })).email).toBe(user.email)
      }),
    ),
  )
})
