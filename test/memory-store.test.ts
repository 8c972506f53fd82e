/**
 * What only the memory store needs checked (the shared contract is `test/store/`): its transaction machinery —
 * isolation from other fibers, rollback on interruption, savepoints for nested transactions, fibers forked inside a
 * transaction — and that callers never hold stored rows.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Option } from "effect"
import { Conflict } from "../src/domain/errors.js"
import type * as M from "../src/domain/models.js"
import { MemoryStore } from "../src/layers/memory/index.js"
import {
  Store,
  type StoreServices,
  UserStore,
  WebhookDeliveryStore,
  WebhookStore,
} from "../src/services/store/index.js"
import { makeDelivery, makeUser, makeWebhook } from "../src/conformance/fixtures.js"
import { seedTenant } from "../src/conformance/seed.js"

const inMemory = <A, E>(effect: Effect.Effect<A, E, StoreServices>) => Effect.provide(effect, MemoryStore.layer)

describe("MemoryStore", () => {
  it.effect("other fibers see a transaction's writes only once it commits", () =>
    inMemory(
      Effect.gen(function* () {
        const [store, users] = yield* Effect.all([Store, UserStore])
        const tenant = yield* seedTenant()
        const user = makeUser(tenant)
        const written = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const writer = yield* Effect.fork(
          store.transaction(
            Effect.gen(function* () {
              yield* users.create(user)
              yield* Deferred.succeed(written, undefined)
              yield* Deferred.await(release)
            }),
          ),
        )
        yield* Deferred.await(written)
        // The reader queues behind the open transaction instead of seeing its uncommitted row.
        const reader = yield* Effect.fork(Effect.either(users.get(user.id)))
        yield* Effect.yieldNow()
        expect(Option.isNone(yield* Fiber.poll(reader))).toBe(true)
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(writer)
        const read = yield* Fiber.join(reader)
        expect(read._tag === "Right" && read.right.id).toBe(user.id)
      }),
    ),
  )

  it.effect("an interrupted transaction rolls back and releases the store", () =>
    inMemory(
      Effect.gen(function* () {
        const [store, users] = yield* Effect.all([Store, UserStore])
        const tenant = yield* seedTenant()
        const user = makeUser(tenant)
        const written = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(
          store.transaction(
            Effect.zipRight(users.create(user), Effect.zipRight(Deferred.succeed(written, undefined), Effect.never)),
          ),
        )
        yield* Deferred.await(written)
        yield* Fiber.interrupt(fiber)
        expect((yield* Effect.flip(users.get(user.id)))._tag).toBe("NotFound")
      }),
    ),
  )

  it.effect("a failed nested transaction undoes only its own writes when the outer one recovers", () =>
    inMemory(
      Effect.gen(function* () {
        const [store, users] = yield* Effect.all([Store, UserStore])
        const tenant = yield* seedTenant()
        const kept = makeUser(tenant)
        const undone = makeUser(tenant)
        yield* store.transaction(
          Effect.gen(function* () {
            yield* users.create(kept)
            yield* store
              .transaction(Effect.zipRight(users.create(undone), Effect.fail(new Conflict({ message: "inner" }))))
              .pipe(Effect.ignore)
          }),
        )
        expect((yield* users.get(kept.id)).id).toBe(kept.id)
        expect((yield* Effect.flip(users.get(undone.id)))._tag).toBe("NotFound")
      }),
    ),
  )

  it.effect("a constraint violation aborts the transaction, as in PostgreSQL, until its savepoint rolls back", () =>
    inMemory(
      Effect.gen(function* () {
        const [store, users] = yield* Effect.all([Store, UserStore])
        const tenant = yield* seedTenant()
        const existing = yield* users.create(makeUser(tenant))
        const first = makeUser(tenant)
        const duplicate = makeUser(tenant, { email: existing.email })
        const createIgnoringTaken = (user: M.User) =>
          Effect.catchTag(users.create(user), "EmailTaken", () => Effect.void)

        // Carrying on after the caught violation: the next statement is a defect.
        const carriedOn = yield* Effect.exit(
          store.transaction(Effect.zipRight(createIgnoringTaken(duplicate), users.count(tenant.app.id))),
        )
        expect(Exit.isFailure(carriedOn) && Cause.isDie(carriedOn.cause)).toBe(true)

        // Committing after it rolls back instead, silently (PostgreSQL's COMMIT does the same).
        yield* store.transaction(Effect.zipRight(users.create(first), createIgnoringTaken(duplicate)))
        expect((yield* Effect.flip(users.get(first.id)))._tag).toBe("NotFound")

        // Inside a nested transaction the violation is rolled back to its savepoint, and the outer one goes on.
        yield* store.transaction(
          Effect.gen(function* () {
            yield* users.create(first)
            yield* store.transaction(users.create(duplicate)).pipe(Effect.ignore)
          }),
        )
        expect((yield* users.get(first.id)).id).toBe(first.id)
      }),
    ),
  )

  it.effect("fibers forked inside a transaction join it instead of deadlocking", () =>
    inMemory(
      Effect.gen(function* () {
        const [store, users] = yield* Effect.all([Store, UserStore])
        const tenant = yield* seedTenant()
        const created = Array.from({ length: 5 }, () => makeUser(tenant))
        yield* store.transaction(Effect.forEach(created, (user) => users.create(user), { concurrency: "unbounded" }))
        expect(yield* users.count(tenant.app.id)).toBe(5)
      }),
    ),
  )

  it.effect("an operation failing halfway leaves nothing behind", () =>
    inMemory(
      Effect.gen(function* () {
        const [webhooks, deliveries] = yield* Effect.all([WebhookStore, WebhookDeliveryStore])
        const tenant = yield* seedTenant()
        const webhook = yield* webhooks.create(makeWebhook(tenant))
        const first = makeDelivery(webhook)
        // The second row repeats the first's primary key: the whole batch is rejected, as one INSERT would be.
        const exit = yield* Effect.exit(deliveries.enqueue([first, first]))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        expect((yield* deliveries.listByWebhook(webhook.id, { limit: 10 })).items).toEqual([])
      }),
    ),
  )

  it.effect("rows go in and come out as copies", () =>
    inMemory(
      Effect.gen(function* () {
        const users = yield* UserStore
        const tenant = yield* seedTenant()
        const input = makeUser(tenant, { metadata: { plan: "pro" } })
        const created = yield* users.create(input)
        ;(input.metadata as Record<string, unknown>).plan = "changed by the caller"
        ;(created.metadata as Record<string, unknown>).plan = "changed by the caller"
        created.createdAt.setTime(0)
        const stored = yield* users.get(input.id)
        expect(stored.metadata).toEqual({ plan: "pro" })
        expect(stored.createdAt.getTime()).not.toBe(0)
      }),
    ),
  )

  it.effect("a row referencing a missing parent is a defect, as a foreign-key violation is", () =>
    inMemory(
      Effect.gen(function* () {
        const webhooks = yield* WebhookStore
        const tenant = yield* seedTenant()
        const exit = yield* Effect.exit(
          webhooks.create(makeWebhook({ ...tenant, env: { ...tenant.env, id: "aenv_missing" as never } })),
        )
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      }),
    ),
  )
})
