/**
 * What only the PostgreSQL store on a real server shows (the shared behaviour is in `test/store/`):
 * - a user's `PgClient` configured with name transforms does not change what the store reads and writes;
 * - the database going away makes store calls die with `StoreUnavailable`, `ping` answer false, and the store
 *   recover once the database is back.
 */
import { PgClient } from "@effect/sql-pg"
import { Cause, Duration, Effect, Exit, Layer, ManagedRuntime, Option, Redacted, String as Str } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { StoreUnavailable } from "../src/domain/errors.js"
import { newId } from "../src/domain/ids.js"
import type * as M from "../src/domain/models.js"
import * as Pg from "../src/layers/pg.js"
import { PostgresStore } from "../src/layers/postgres/index.js"
import { passkeyMigrations } from "../src/plugins/passkey/migrations.js"
import { type Passkey, PasskeyId, PasskeyStore } from "../src/plugins/passkey/store.js"
import { PasskeyStoreLive } from "../src/plugins/passkey/stores.js"
import {
  AppStore,
  EnvironmentStore,
  FormConfigStore,
  Store,
  UserStore,
  WebhookDeliveryStore,
  WebhookStore,
} from "../src/services/store/index.js"
import { createDatabase } from "./support/postgres.js"
import { makeProxy } from "./support/proxy.js"

const now = new Date("2030-01-01T00:00:00.000Z")

const seedTenant = Effect.gen(function* () {
  const app: M.App = {
    id: newId.app(),
    name: "Smoke",
    slug: `smoke-${newId.app().slice(-8)}`,
    logo: null,
    publishableKey: `pk_${newId.app()}`,
    isPlatform: false,
    metadata: { someKey: { nestedKey: [1, "two"] } },
    createdAt: now,
    updatedAt: now,
  }
  const env: M.Environment = {
    id: newId.environment(),
    appId: app.id,
    name: "Development",
    slug: "development",
    type: "development",
    isDefault: true,
    color: null,
    description: null,
    settings: { allowSignUp: true },
    clonedFrom: null,
    metadata: null,
    createdAt: now,
    updatedAt: now,
  }
  return { app: yield* (yield* AppStore).create(app), env: yield* (yield* EnvironmentStore).create(env) }
})

const makeUser = (app: M.App, env: M.Environment): M.User => ({
  id: newId.user(),
  appId: app.id,
  envId: env.id,
  email: `${newId.user().slice(-10)}@example.com`,
  emailVerified: false,
  firstName: "Ada",
  lastName: null,
  image: null,
  username: null,
  phone: null,
  banned: false,
  banReason: null,
  banExpires: null,
  metadata: { camelCase: { deeperKey: true }, snake_case: 1 },
  createdAt: now,
  updatedAt: now,
  deletedAt: null,
})

describe("PostgresStore on PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>
  beforeAll(async () => {
    db = await createDatabase("pgstore")
  })
  afterAll(() => db?.drop())

  it("reads and writes the same rows through a PgClient configured with name transforms", async () => {
    const client = PgClient.layer({
      url: Redacted.make(db.url),
      maxConnections: 3,
      transformQueryNames: Str.camelToSnake,
      transformResultNames: Str.snakeToCamel,
    })
    const runtime = ManagedRuntime.make(
      PasskeyStoreLive.pipe(Layer.provideMerge(PostgresStore.layer), Layer.provide(client)),
    )
    try {
      await runtime.runPromise(
        Effect.gen(function* () {
          yield* (yield* Store).migrate(passkeyMigrations)
          const { app, env } = yield* seedTenant
          expect(yield* (yield* AppStore).get(app.id)).toEqual(app)
          expect(yield* (yield* EnvironmentStore).getDefault(app.id)).toEqual(env)

          // jsonb keys stay verbatim (no camel/snake rewriting), jsonb arrays stay arrays.
          const user = makeUser(app, env)
          expect(yield* (yield* UserStore).create(user)).toEqual(user)
          expect(yield* (yield* UserStore).get(user.id)).toEqual(user)
          const fields = [{ fieldName: "companyName", required: true }, "plain"]
          const form = yield* (yield* FormConfigStore).save(
            { appId: app.id, formType: "signUp", fields, active: true },
            newId.formConfig(),
            now,
          )
          expect(form.fields).toEqual(fields)

          // text[] columns and an array-valued jsonb payload.
          const webhook: M.Webhook = {
            id: newId.webhook(),
            appId: app.id,
            envId: env.id,
            url: "https://example.com/hook",
            events: ["user.created", "session.*"],
            secret: "whsec_x",
            active: true,
            createdAt: now,
            updatedAt: now,
          }
          expect(yield* (yield* WebhookStore).create(webhook)).toEqual(webhook)
          const delivery: M.WebhookDelivery = {
            id: newId.webhookDelivery(),
            appId: app.id,
            webhookId: webhook.id,
            eventId: "evt_1",
            eventType: "user.created",
            payload: [{ userId: user.id }, null],
            status: "pending",
            attempts: 0,
            nextAttemptAt: now,
            lastStatusCode: null,
            lastDurationMs: null,
            lastError: null,
            deliveredAt: null,
            createdAt: now,
            updatedAt: now,
          }
          yield* (yield* WebhookDeliveryStore).enqueue([delivery])
          const page = yield* (yield* WebhookDeliveryStore).listByWebhook(webhook.id, { limit: 10 })
          expect(page.items).toEqual([delivery])

          // int8 columns come back as numbers from node-postgres too.
          const passkey: Passkey = {
            id: PasskeyId.make(),
            appId: app.id,
            userId: user.id,
            name: "Key",
            credentialId: `cred-${PasskeyId.make()}`,
            publicKey: "pk",
            counter: 2 ** 40,
            transports: ["usb", "nfc"],
            deviceType: null,
            backedUp: false,
            aaguid: null,
            lastUsedAt: null,
            createdAt: now,
          }
          yield* (yield* PasskeyStore).create(passkey)
          expect(yield* (yield* PasskeyStore).get(passkey.id)).toEqual(passkey)
          expect(yield* (yield* PasskeyStore).updateCounter(passkey.id, 2 ** 40, 2 ** 40 + 1, now)).toBe(true)
        }),
      )
    } finally {
      await runtime.dispose()
    }
  })

  it("dies with StoreUnavailable while the database is unreachable, and recovers when it is back", async () => {
    const target = new URL(db.url)
    const proxy = makeProxy(target.hostname, Number(target.port || 5432))
    const port = await proxy.start(0)
    const url = new URL(db.url)
    url.hostname = "127.0.0.1"
    url.port = String(port)
    const runtime = ManagedRuntime.make(
      PostgresStore.layer.pipe(
        Layer.provide(
          Pg.layer(url.toString(), { maxConnections: 2, minConnections: 0, connectTimeout: Duration.seconds(2) }),
        ),
      ),
    )
    const dieCause = async (effect: Effect.Effect<unknown, unknown, Store | UserStore>) => {
      const exit = await runtime.runPromiseExit(effect)
      expect(Exit.isFailure(exit)).toBe(true)
      return Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
    }
    try {
      await runtime.runPromise(Effect.flatMap(Store, (store) => store.migrate()))
      expect(await runtime.runPromise(Effect.flatMap(Store, (store) => store.ping))).toBe(true)

      await proxy.stop()
      expect(await runtime.runPromise(Effect.flatMap(Store, (store) => store.ping))).toBe(false)
      expect(await dieCause(Effect.flatMap(UserStore, (users) => users.get(newId.user())))).toBeInstanceOf(
        StoreUnavailable,
      )
      expect(await dieCause(Effect.flatMap(Store, (store) => store.transaction(Effect.void)))).toBeInstanceOf(
        StoreUnavailable,
      )

      await proxy.start(port)
      expect(await runtime.runPromise(Effect.flatMap(Store, (store) => store.ping))).toBe(true)
      const missing = await runtime.runPromiseExit(Effect.flatMap(UserStore, (users) => users.get(newId.user())))
      expect(Exit.isFailure(missing) && Option.getOrUndefined(Cause.failureOption(missing.cause))?._tag).toBe(
        "NotFound",
      )
    } finally {
      await runtime.dispose()
      await proxy.stop()
    }
  })
})
