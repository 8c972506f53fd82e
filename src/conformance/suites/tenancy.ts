import { Effect } from "effect"
import { describe, expect } from "vitest"
import { newId } from "../../domain/ids.js"
import {
  AppSessionConfigStore,
  AppStore,
  BrandingStore,
  EnvironmentStore,
  FormConfigStore,
} from "../../services/store/index.js"
import { at, HOUR, makeApp, makeBranding, makeEnv, makeSessionConfig, unique } from "../fixtures.js"
import { expectFailure, type Harness } from "../harness.js"
import { seedEnv, seedOrg, seedTenant, seedUser } from "../seed.js"

export const tenancySuite = (h: Harness) => {
  describe("AppStore", () => {
    h.test(
      "create returns the app; get, getBySlug and getByPublishableKey find it; unknown keys are NotFound",
      Effect.gen(function* () {
        const apps = yield* AppStore
        const app = makeApp({ logo: "https://img.example.com/logo.png", metadata: { tier: "gold" } })
        expect(yield* apps.create(app)).toEqual(app)
        expect(yield* apps.get(app.id)).toEqual(app)
        expect(yield* apps.getBySlug(app.slug)).toEqual(app)
        expect(yield* apps.getByPublishableKey(app.publishableKey)).toEqual(app)
        yield* expectFailure(apps.get(newId.app()), "NotFound")
        yield* expectFailure(apps.getBySlug(unique("nope")), "NotFound")
        yield* expectFailure(apps.getByPublishableKey("pk_test_nope"), "NotFound")
      }),
    )

    h.test(
      "slugs are globally unique (SlugTaken), publishable keys too (Conflict)",
      Effect.gen(function* () {
        const apps = yield* AppStore
        const first = yield* apps.create(makeApp())
        yield* expectFailure(apps.create(makeApp({ slug: first.slug })), "SlugTaken")
        yield* expectFailure(apps.create(makeApp({ publishableKey: first.publishableKey })), "Conflict")
      }),
    )

    h.test(
      "list returns apps newest first",
      Effect.gen(function* () {
        const apps = yield* AppStore
        const created = [yield* apps.create(makeApp()), yield* apps.create(makeApp()), yield* apps.create(makeApp())]
        const ids = new Set(created.map((a) => a.id))
        const listed = (yield* apps.list()).filter((a) => ids.has(a.id))
        expect(listed.map((a) => a.id)).toEqual(created.map((a) => a.id).reverse())
      }),
    )

    h.test(
      "update patches the given fields and stamps updatedAt; SlugTaken / NotFound",
      Effect.gen(function* () {
        const apps = yield* AppStore
        const app = yield* apps.create(makeApp())
        const other = yield* apps.create(makeApp())
        const slug = unique("renamed")
        const updated = yield* apps.update(app.id, { name: "Renamed", slug, metadata: { a: 1 } }, at(HOUR))
        expect(updated).toEqual({ ...app, name: "Renamed", slug, metadata: { a: 1 }, updatedAt: at(HOUR) })
        expect(yield* apps.getBySlug(slug)).toEqual(updated)
        yield* expectFailure(apps.update(app.id, { slug: other.slug }, at(HOUR)), "SlugTaken")
        yield* expectFailure(apps.update(newId.app(), { name: "x" }, at(HOUR)), "NotFound")
      }),
    )

    h.test(
      "delete removes the app; deleting it again is NotFound",
      Effect.gen(function* () {
        const apps = yield* AppStore
        const app = yield* apps.create(makeApp())
        yield* apps.delete(app.id)
        yield* expectFailure(apps.get(app.id), "NotFound")
        yield* expectFailure(apps.delete(app.id), "NotFound")
      }),
    )
  })

  describe("EnvironmentStore", () => {
    h.test(
      "create/get/getBySlug/getDefault; list is oldest first; unknown ones are NotFound",
      Effect.gen(function* () {
        const envs = yield* EnvironmentStore
        const { app, env: dev } = yield* seedTenant()
        const staging = yield* envs.create(makeEnv(app.id, { slug: "staging", type: "staging", color: "#ffaa00" }))
        const prod = yield* envs.create(makeEnv(app.id, { slug: "production", type: "production" }))
        expect(yield* envs.get(staging.id)).toEqual(staging)
        expect(yield* envs.getBySlug(app.id, "production")).toEqual(prod)
        expect(yield* envs.getDefault(app.id)).toEqual(dev)
        expect(yield* envs.list(app.id)).toEqual([dev, staging, prod])
        yield* expectFailure(envs.get(newId.environment()), "NotFound")
        yield* expectFailure(envs.getBySlug(app.id, "nope"), "NotFound")
        const bare = yield* Effect.flatMap(AppStore, (apps) => apps.create(makeApp()))
        yield* expectFailure(envs.getDefault(bare.id), "NotFound")
        expect(yield* envs.list(bare.id)).toEqual([])
      }),
    )

    h.test(
      "slugs are unique per app (SlugTaken); another app may reuse them",
      Effect.gen(function* () {
        const envs = yield* EnvironmentStore
        const a = yield* seedTenant()
        const b = yield* seedTenant()
        yield* expectFailure(envs.create(makeEnv(a.app.id, { slug: a.env.slug })), "SlugTaken")
        const staging = yield* envs.create(makeEnv(a.app.id, { slug: "staging" }))
        yield* envs.create(makeEnv(b.app.id, { slug: "staging" }))
        yield* expectFailure(envs.update(staging.id, { slug: a.env.slug }, at(HOUR)), "SlugTaken")
      }),
    )

    h.test(
      "an app has exactly one default: creating a second default is a Conflict",
      Effect.gen(function* () {
        const envs = yield* EnvironmentStore
        const { app } = yield* seedTenant()
        yield* expectFailure(envs.create(makeEnv(app.id, { isDefault: true })), "Conflict")
      }),
    )

    h.test(
      "update patches the given fields and stamps updatedAt; NotFound for an unknown id",
      Effect.gen(function* () {
        const envs = yield* EnvironmentStore
        const tenant = yield* seedTenant()
        const { env } = yield* seedEnv(tenant)
        const patch = { name: "QA", slug: unique("qa"), color: "#00ff00", description: "QA", settings: { x: true } }
        const updated = yield* envs.update(env.id, patch, at(HOUR))
        expect(updated).toEqual({ ...env, ...patch, updatedAt: at(HOUR) })
        expect(yield* envs.get(env.id)).toEqual(updated)
        yield* expectFailure(envs.update(newId.environment(), { name: "x" }, at(HOUR)), "NotFound")
      }),
    )

    h.test(
      "setDefault makes the environment the app's only default; NotFound for an unknown id",
      Effect.gen(function* () {
        const envs = yield* EnvironmentStore
        const tenant = yield* seedTenant()
        const { env: staging } = yield* seedEnv(tenant)
        const promoted = yield* envs.setDefault(staging.id, at(HOUR))
        expect(promoted.isDefault).toBe(true)
        expect((yield* envs.getDefault(tenant.app.id)).id).toBe(staging.id)
        expect((yield* envs.get(tenant.env.id)).isDefault).toBe(false)
        expect((yield* envs.list(tenant.app.id)).filter((e) => e.isDefault).map((e) => e.id)).toEqual([staging.id])
        yield* expectFailure(envs.setDefault(newId.environment(), at(HOUR)), "NotFound")
      }),
    )

    h.test(
      "delete removes a non-default environment; the default one is a Conflict; unknown ones NotFound",
      Effect.gen(function* () {
        const envs = yield* EnvironmentStore
        const tenant = yield* seedTenant()
        const { env: staging } = yield* seedEnv(tenant)
        yield* expectFailure(envs.delete(tenant.env.id), "Conflict")
        yield* envs.delete(staging.id)
        yield* expectFailure(envs.get(staging.id), "NotFound")
        yield* expectFailure(envs.delete(staging.id), "NotFound")
        expect((yield* envs.list(tenant.app.id)).map((e) => e.id)).toEqual([tenant.env.id])
      }),
    )
  })

  describe("AppSessionConfigStore", () => {
    h.test(
      "upsert inserts, then replaces the values keeping id and createdAt; get/delete; NotFound",
      Effect.gen(function* () {
        const configs = yield* AppSessionConfigStore
        const { app } = yield* seedTenant()
        yield* expectFailure(configs.get(app.id), "NotFound")
        const first = makeSessionConfig(app.id)
        expect(yield* configs.upsert(first)).toEqual(first)
        expect(yield* configs.get(app.id)).toEqual(first)
        const second = makeSessionConfig(app.id, { tokenTtlSeconds: 600, maxActiveSessions: 3, updatedAt: at(HOUR) })
        const expected = { ...second, id: first.id, createdAt: first.createdAt }
        expect(yield* configs.upsert(second)).toEqual(expected)
        expect(yield* configs.get(app.id)).toEqual(expected)
        yield* configs.delete(app.id)
        yield* expectFailure(configs.get(app.id), "NotFound")
        yield* expectFailure(configs.delete(app.id), "NotFound")
      }),
    )
  })

  describe("FormConfigStore", () => {
    h.test(
      "save creates version 1 with the given id, then replaces fields and bumps the version keeping the id",
      Effect.gen(function* () {
        const forms = yield* FormConfigStore
        const { app } = yield* seedTenant()
        const id = newId.formConfig()
        const input = { appId: app.id, formType: "signup", fields: [{ name: "company" }], active: true }
        const v1 = yield* forms.save(input, id, at(HOUR))
        expect(v1).toEqual({ ...input, id, version: 1, createdAt: at(HOUR), updatedAt: at(HOUR) })
        expect(yield* forms.get(app.id, "signup")).toEqual(v1)
        const fields = [{ name: "company" }, { name: "role", required: true }]
        const v2 = yield* forms.save({ ...input, fields, active: false }, newId.formConfig(), at(2 * HOUR))
        expect(v2).toEqual({ ...v1, fields, active: false, version: 2, updatedAt: at(2 * HOUR) })
        expect(yield* forms.get(app.id, "signup")).toEqual(v2)
      }),
    )

    h.test(
      "list returns the app's forms only; delete removes one; unknown ones are NotFound",
      Effect.gen(function* () {
        const forms = yield* FormConfigStore
        const a = yield* seedTenant()
        const b = yield* seedTenant()
        const save = (appId: typeof a.app.id, formType: string) =>
          forms.save({ appId, formType, fields: [], active: true }, newId.formConfig(), at(HOUR))
        const signup = yield* save(a.app.id, "signup")
        const profile = yield* save(a.app.id, "profile")
        yield* save(b.app.id, "signup")
        const listed = yield* forms.list(a.app.id)
        expect([...listed].sort((x, y) => x.formType.localeCompare(y.formType))).toEqual([profile, signup])
        yield* forms.delete(a.app.id, "signup")
        yield* expectFailure(forms.get(a.app.id, "signup"), "NotFound")
        yield* expectFailure(forms.delete(a.app.id, "signup"), "NotFound")
        expect((yield* forms.get(b.app.id, "signup")).appId).toBe(b.app.id)
      }),
    )
  })

  describe("BrandingStore", () => {
    h.test(
      "upsert inserts, then replaces the values keeping id and createdAt; get/delete; NotFound",
      Effect.gen(function* () {
        const branding = yield* BrandingStore
        const tenant = yield* seedTenant()
        const org = yield* seedOrg(yield* seedUser(tenant))
        yield* expectFailure(branding.get(org.id), "NotFound")
        const first = makeBranding(org)
        expect(yield* branding.upsert(first)).toEqual(first)
        expect(yield* branding.get(org.id)).toEqual(first)
        const second = makeBranding(org, { primaryColor: "#000000", tagline: "Hi", updatedAt: at(HOUR) })
        const expected = { ...second, id: first.id, createdAt: first.createdAt }
        expect(yield* branding.upsert(second)).toEqual(expected)
        expect(yield* branding.get(org.id)).toEqual(expected)
        yield* branding.delete(org.id)
        yield* expectFailure(branding.get(org.id), "NotFound")
        yield* expectFailure(branding.delete(org.id), "NotFound")
      }),
    )
  })
}
