import { Effect, Either, Option } from "effect"
import { describe, expect, it } from "vitest"
import { newId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import { type Page, SessionStore, UserStore, type UserListQuery } from "../../services/store/index.js"
import { at, HOUR, makeUser, type Tenant } from "../fixtures.js"
import { expectFailure, expectNone, type Harness, RawUserReader, race } from "../harness.js"
import { seedEnv, seedSession, seedTenant, seedUser } from "../seed.js"

/** Follows `nextCursor` to the end, returning every page. */
const allPages = (tenant: Tenant, query: Omit<UserListQuery, "cursor">) =>
  Effect.gen(function* () {
    const users = yield* UserStore
    const pages: Array<Page<M.User>> = []
    let cursor: string | undefined
    do {
      const page = yield* users.list(tenant.app.id, { ...query, cursor })
      pages.push(page)
      cursor = page.nextCursor
    } while (cursor !== undefined && pages.length < 1_000)
    return pages
  })

const listedEmails = (tenant: Tenant, email: string) =>
  Effect.flatMap(UserStore, (users) => users.list(tenant.app.id, { email, limit: 50 })).pipe(
    Effect.map((page) => page.items.map((u) => u.email).sort()),
  )

export const usersSuite = (h: Harness) =>
  describe("UserStore", () => {
    h.test(
      "create returns the user; get, getByEmail and getByUsername find it; unknown ones are NotFound",
      Effect.gen(function* () {
        const users = yield* UserStore
        const tenant = yield* seedTenant()
        const user = makeUser(tenant, { username: "ada", banExpires: at(HOUR), metadata: { nested: { a: [1, 2] } } })
        expect(yield* users.create(user)).toEqual(user)
        expect(yield* users.get(user.id)).toEqual(user)
        expect(yield* users.getByEmail(tenant.app.id, tenant.env.id, user.email)).toEqual(user)
        expect(yield* users.getByUsername(tenant.app.id, tenant.env.id, "ada")).toEqual(user)
        yield* expectFailure(users.get(newId.user()), "NotFound")
        yield* expectFailure(users.getByEmail(tenant.app.id, tenant.env.id, "nobody@example.com"), "NotFound")
        yield* expectFailure(users.getByUsername(tenant.app.id, tenant.env.id, "nobody"), "NotFound")
        // Lookups are scoped to the app + environment.
        const staging = yield* seedEnv(tenant)
        yield* expectFailure(users.getByEmail(tenant.app.id, staging.env.id, user.email), "NotFound")
      }),
    )

    h.test(
      "emails are unique per app + environment among live users (EmailTaken); other envs and apps may reuse them",
      Effect.gen(function* () {
        const users = yield* UserStore
        const tenant = yield* seedTenant()
        const staging = yield* seedEnv(tenant)
        const otherApp = yield* seedTenant()
        const email = "taken@example.com"
        yield* users.create(makeUser(tenant, { email }))
        yield* expectFailure(users.create(makeUser(tenant, { email })), "EmailTaken")
        yield* users.create(makeUser(staging, { email }))
        yield* users.create(makeUser(otherApp, { email }))
        expect(yield* users.count(tenant.app.id)).toBe(2)
      }),
    )

    h.test(
      "usernames are unique per app + environment case-insensitively (UsernameTaken); users without one never clash",
      Effect.gen(function* () {
        const users = yield* UserStore
        const tenant = yield* seedTenant()
        const staging = yield* seedEnv(tenant)
        yield* users.create(makeUser(tenant, { username: "Alice" }))
        yield* expectFailure(users.create(makeUser(tenant, { username: "alice" })), "UsernameTaken")
        yield* expectFailure(users.create(makeUser(tenant, { username: "ALICE" })), "UsernameTaken")
        yield* users.create(makeUser(staging, { username: "alice" }))
        yield* users.create(makeUser(tenant, { username: null }))
        yield* users.create(makeUser(tenant, { username: null }))
      }),
    )

    h.test(
      "update patches the given fields and stamps updatedAt; EmailTaken / UsernameTaken / NotFound",
      Effect.gen(function* () {
        const users = yield* UserStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant, { username: "bob" })
        const other = yield* seedUser(tenant, { username: "carol" })
        const patch = {
          email: "bob.new@example.com",
          emailVerified: true,
          firstName: "Robert",
          banned: true,
          banReason: "spam",
          banExpires: at(2 * HOUR),
          metadata: { plan: "free" },
        }
        const updated = yield* users.update(user.id, patch, at(HOUR))
        expect(updated).toEqual({ ...user, ...patch, updatedAt: at(HOUR) })
        expect(yield* users.getByEmail(tenant.app.id, tenant.env.id, "bob.new@example.com")).toEqual(updated)
        // Re-stating one's own email or username (in another case) is not a clash.
        yield* users.update(user.id, { email: updated.email, username: "BOB" }, at(HOUR))
        yield* expectFailure(users.update(user.id, { email: other.email }, at(HOUR)), "EmailTaken")
        yield* expectFailure(users.update(user.id, { username: "Carol" }, at(HOUR)), "UsernameTaken")
        yield* expectFailure(users.update(newId.user(), { firstName: "x" }, at(HOUR)), "NotFound")
      }),
    )

    h.test(
      "soft delete hides the user from every read (sessions included) and frees its email and username",
      Effect.gen(function* () {
        const [users, sessions] = yield* Effect.all([UserStore, SessionStore])
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant, { username: "ghost" })
        const survivor = yield* seedUser(tenant)
        const session = yield* seedSession(user)
        yield* users.softDelete(user.id, at(HOUR))

        yield* expectFailure(users.get(user.id), "NotFound")
        yield* expectFailure(users.getByEmail(tenant.app.id, tenant.env.id, user.email), "NotFound")
        yield* expectFailure(users.getByUsername(tenant.app.id, tenant.env.id, "ghost"), "NotFound")
        expect((yield* users.list(tenant.app.id, { limit: 10 })).items.map((u) => u.id)).toEqual([survivor.id])
        expect((yield* users.list(tenant.app.id, { limit: 10, email: user.email })).items).toEqual([])
        expect(yield* users.count(tenant.app.id)).toBe(1)
        yield* expectNone(sessions.findByTokenHash(session.tokenHash))
        yield* expectFailure(users.update(user.id, { firstName: "x" }, at(HOUR)), "NotFound")
        yield* expectFailure(users.softDelete(user.id, at(HOUR)), "NotFound")

        const reborn = yield* users.create(makeUser(tenant, { email: user.email, username: "ghost" }))
        expect((yield* users.getByEmail(tenant.app.id, tenant.env.id, user.email)).id).toBe(reborn.id)
        expect((yield* users.getByUsername(tenant.app.id, tenant.env.id, "ghost")).id).toBe(reborn.id)
        yield* expectFailure(users.softDelete(newId.user(), at(HOUR)), "NotFound")
      }),
    )

    it("soft delete anonymises the stored row (backends whose rows the suite can read)", async (ctx) => {
      const reader = await h.run(Effect.serviceOption(RawUserReader))
      if (Option.isNone(reader)) return ctx.skip()
      await h.run(
        Effect.gen(function* () {
          const tenant = yield* seedTenant()
          const user = yield* seedUser(tenant, { username: "ghost", metadata: { secret: true } })
          yield* (yield* UserStore).softDelete(user.id, at(HOUR))
          expect(yield* reader.value(user.id)).toEqual({
            email: `deleted+${user.id}@deleted.invalid`,
            firstName: null,
            lastName: null,
            image: null,
            username: null,
            phone: null,
            metadata: null,
            deletedAt: at(HOUR),
          })
        }),
      )
    })

    h.test(
      "list pages 250 users by 20: newest first, each exactly once, no cursor after the last page",
      Effect.gen(function* () {
        const users = yield* UserStore
        const tenant = yield* seedTenant()
        const rows = Array.from({ length: 250 }, () => makeUser(tenant))
        yield* Effect.forEach(rows, (row) => users.create(row), { concurrency: 8, discard: true })
        const newestFirst = rows.map((u) => u.id).reverse()

        const pages = yield* allPages(tenant, { limit: 20 })
        expect(pages.map((p) => p.items.length)).toEqual([...Array(12).fill(20), 10])
        expect(pages.flatMap((p) => p.items.map((u) => u.id))).toEqual(newestFirst)
        for (const page of pages.slice(0, -1)) expect(page.nextCursor).toBe(page.items.at(-1)?.id)
        expect(pages.at(-1)?.nextCursor).toBeUndefined()

        // A page ending exactly on the last row has no cursor either.
        const whole = yield* users.list(tenant.app.id, { limit: 250 })
        expect(whole.items).toHaveLength(250)
        expect(whole.nextCursor).toBeUndefined()
      }),
      30_000,
    )

    h.test(
      "list filters by environment",
      Effect.gen(function* () {
        const users = yield* UserStore
        const tenant = yield* seedTenant()
        const staging = yield* seedEnv(tenant)
        const dev1 = yield* seedUser(tenant)
        const dev2 = yield* seedUser(tenant)
        const stage = yield* seedUser(staging)
        const ids = (query: UserListQuery) =>
          Effect.map(users.list(tenant.app.id, query), (page) => page.items.map((u) => u.id))
        expect(yield* ids({ limit: 10, envId: tenant.env.id })).toEqual([dev2.id, dev1.id])
        expect(yield* ids({ limit: 10, envId: staging.env.id })).toEqual([stage.id])
        expect(yield* ids({ limit: 10 })).toEqual([stage.id, dev2.id, dev1.id])
      }),
    )

    h.test(
      "list's email filter is a case-insensitive substring; LIKE metacharacters (%, _, \\) match literally",
      Effect.gen(function* () {
        const tenant = yield* seedTenant()
        const emails = [
          "100%real@example.com",
          "100xreal@example.com",
          "a_b@example.com",
          "axb@example.com",
          "back\\slash@example.com",
          "backxslash@example.com",
        ]
        yield* Effect.forEach(emails, (email) => seedUser(tenant, { email }), { discard: true })
        yield* seedUser(yield* seedTenant(), { email: "a_b@example.com" })
        expect(yield* listedEmails(tenant, "100%")).toEqual(["100%real@example.com"])
        expect(yield* listedEmails(tenant, "A_B")).toEqual(["a_b@example.com"])
        expect(yield* listedEmails(tenant, "k\\s")).toEqual(["back\\slash@example.com"])
        expect(yield* listedEmails(tenant, "%")).toEqual(["100%real@example.com"])
        expect(yield* listedEmails(tenant, "EXAMPLE.COM")).toEqual([...emails].sort())
        expect(yield* listedEmails(tenant, "nobody")).toEqual([])
      }),
    )

    h.test(
      "list's emailPrefix filter matches the start of the email only, case-insensitively and literally, with cursors",
      Effect.gen(function* () {
        const users = yield* UserStore
        const tenant = yield* seedTenant()
        const emails = ["ann@example.com", "anna@example.com", "a_n@example.com", "joanne@example.com"]
        yield* Effect.forEach(emails, (email) => seedUser(tenant, { email }), { discard: true })
        yield* seedUser(yield* seedTenant(), { email: "annex@example.com" })
        const prefixed = (emailPrefix: string) =>
          Effect.map(users.list(tenant.app.id, { emailPrefix, limit: 50 }), (page) =>
            page.items.map((u) => u.email).sort(),
          )
        expect(yield* prefixed("ANN")).toEqual(["ann@example.com", "anna@example.com"])
        expect(yield* prefixed("a_")).toEqual(["a_n@example.com"])
        expect(yield* prefixed("%")).toEqual([])
        expect(yield* prefixed("example")).toEqual([])
        const first = yield* users.list(tenant.app.id, { emailPrefix: "a", limit: 2 })
        expect(first.items).toHaveLength(2)
        const second = yield* users.list(tenant.app.id, { emailPrefix: "a", limit: 2, cursor: first.nextCursor })
        expect(second.nextCursor).toBeUndefined()
        expect([...first.items, ...second.items].map((u) => u.email).sort()).toEqual([
          "a_n@example.com",
          "ann@example.com",
          "anna@example.com",
        ])
      }),
    )

    h.test(
      "count counts the app's live users only",
      Effect.gen(function* () {
        const users = yield* UserStore
        const tenant = yield* seedTenant()
        const staging = yield* seedEnv(tenant)
        yield* seedUser(tenant)
        yield* seedUser(staging)
        yield* seedUser(yield* seedTenant())
        expect(yield* users.count(tenant.app.id)).toBe(2)
        expect(yield* users.count(newId.app())).toBe(0)
      }),
    )

    h.test(
      "20 concurrent creates of one email: exactly one row, 19 EmailTaken",
      Effect.gen(function* () {
        const users = yield* UserStore
        const tenant = yield* seedTenant()
        const email = "race@example.com"
        const results = yield* race(20, () => Effect.either(users.create(makeUser(tenant, { email }))))
        expect(results.filter(Either.isRight)).toHaveLength(1)
        expect(results.filter(Either.isLeft).map((r) => r.left._tag)).toEqual(Array(19).fill("EmailTaken"))
        expect(yield* users.count(tenant.app.id)).toBe(1)
      }),
    )
  })
