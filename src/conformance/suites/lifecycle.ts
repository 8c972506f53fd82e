import { Cause, Effect, Exit } from "effect"
import { describe, expect } from "vitest"
import { Conflict } from "../../domain/errors.js"
import { coreMigrations } from "../../migrations/core.js"
import { Store, UserStore, WebhookStore } from "../../services/store/index.js"
import { makeUser, makeWebhook } from "../fixtures.js"
import { expectFailure, type Harness } from "../harness.js"
import { seedTenant } from "../seed.js"

export const lifecycleSuite = (h: Harness) =>
  describe("Store", () => {
    h.test(
      "migrate applies every core and plugin migration once, nothing a second time; migrationStatus has none pending",
      Effect.gen(function* () {
        const store = yield* Store
        const key = (m: { readonly group: string; readonly version: number }) => `${m.group}/${m.version}`
        const pluginGroups = h.pluginGroups
        const everyMigration = [coreMigrations, ...pluginGroups].flatMap((g) =>
          g.migrations.map((m) => key({ ...m, group: g.name })),
        )
        // A backend with a schema applied all of it on its fresh state; the memory store has nothing to apply.
        const initial = h.initialMigration()
        if (initial.length > 0) expect(initial.map(key).sort()).toEqual(everyMigration.sort())
        expect(yield* store.migrate(...pluginGroups)).toEqual([])
        const status = yield* store.migrationStatus(...pluginGroups)
        expect(status.filter((s) => s.appliedAt === null)).toEqual([])
        if (status.length > 0) expect(status.map(key).sort()).toEqual(everyMigration.sort())
      }),
    )

    h.test(
      "migrate and migrationStatus reject a group given twice with InvalidMigrationGroups",
      Effect.gen(function* () {
        const store = yield* Store
        const group = { name: "authsome-twice", migrations: [] }
        yield* expectFailure(store.migrate(group, group), "InvalidMigrationGroups")
        yield* expectFailure(store.migrationStatus(group, group), "InvalidMigrationGroups")
        yield* expectFailure(store.migrate(coreMigrations), "InvalidMigrationGroups")
      }),
    )

    h.test(
      "ping answers true",
      Effect.gen(function* () {
        expect(yield* (yield* Store).ping).toBe(true)
      }),
    )

    describe("transaction", () => {
      h.test(
        "commits every write together; reads inside it see its own writes",
        Effect.gen(function* () {
          const [store, users, webhooks] = yield* Effect.all([Store, UserStore, WebhookStore])
          const tenant = yield* seedTenant()
          const user = makeUser(tenant)
          const webhook = makeWebhook(tenant)
          const seenInside = yield* store.transaction(
            Effect.gen(function* () {
              yield* users.create(user)
              yield* webhooks.create(webhook)
              return yield* users.getByEmail(tenant.app.id, tenant.env.id, user.email)
            }),
          )
          expect(seenInside.id).toBe(user.id)
          expect(yield* users.get(user.id)).toEqual(user)
          expect(yield* webhooks.get(webhook.id)).toEqual(webhook)
        }),
      )

      h.test(
        "a failure inside rolls back every write made in it, across stores, and passes the error through",
        Effect.gen(function* () {
          const [store, users, webhooks] = yield* Effect.all([Store, UserStore, WebhookStore])
          const tenant = yield* seedTenant()
          const user = makeUser(tenant)
          const webhook = makeWebhook(tenant)
          const error = yield* store
            .transaction(
              Effect.gen(function* () {
                yield* users.create(user)
                yield* webhooks.create(webhook)
                return yield* new Conflict({ message: "abort" })
              }),
            )
            .pipe(Effect.flip)
          expect(error).toEqual(new Conflict({ message: "abort" }))
          yield* expectFailure(users.get(user.id), "NotFound")
          yield* expectFailure(webhooks.get(webhook.id), "NotFound")
          expect(yield* webhooks.listByApp(tenant.app.id)).toEqual([])
        }),
      )

      h.test(
        "a defect inside rolls back too",
        Effect.gen(function* () {
          const [store, users] = yield* Effect.all([Store, UserStore])
          const tenant = yield* seedTenant()
          const user = makeUser(tenant)
          const exit = yield* store
            .transaction(Effect.zipRight(users.create(user), Effect.die("boom")))
            .pipe(Effect.exit)
          expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
          yield* expectFailure(users.get(user.id), "NotFound")
        }),
      )

      h.test(
        "a nested transaction joins the outer one: its writes roll back when the outer one fails",
        Effect.gen(function* () {
          const [store, users] = yield* Effect.all([Store, UserStore])
          const tenant = yield* seedTenant()
          const inner = makeUser(tenant)
          const outer = makeUser(tenant)
          yield* store
            .transaction(
              Effect.gen(function* () {
                yield* store.transaction(users.create(inner))
                yield* users.create(outer)
                return yield* new Conflict({ message: "abort" })
              }),
            )
            .pipe(Effect.flip)
          yield* expectFailure(users.get(inner.id), "NotFound")
          yield* expectFailure(users.get(outer.id), "NotFound")
        }),
      )

      h.test(
        "a nested transaction's writes commit with the outer one",
        Effect.gen(function* () {
          const [store, users] = yield* Effect.all([Store, UserStore])
          const tenant = yield* seedTenant()
          const inner = makeUser(tenant)
          const outer = makeUser(tenant)
          yield* store.transaction(Effect.zipRight(store.transaction(users.create(inner)), users.create(outer)))
          expect((yield* users.get(inner.id)).id).toBe(inner.id)
          expect((yield* users.get(outer.id)).id).toBe(outer.id)
        }),
      )
    })
  })
