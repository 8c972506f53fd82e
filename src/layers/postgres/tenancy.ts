/** Apps, environments and per-app / per-organization configuration. */
import { Effect, Layer } from "effect"
import { Conflict } from "../../domain/errors.js"
import type * as Id from "../../domain/ids.js"
import * as M from "../../domain/models.js"
import {
  AppSessionConfigStore,
  AppStore,
  BrandingStore,
  EnvironmentStore,
  FormConfigStore,
} from "../../services/store/tenancy.js"
import * as Sql from "./sql.js"

export const Apps = Sql.tableOf("authsome_apps", M.App)

export const Environments = Sql.tableOf("authsome_environments", M.Environment)

export const AppSessionConfigs = Sql.tableOf("authsome_app_session_configs", M.AppSessionConfig)

export const FormConfigs = Sql.tableOf("authsome_form_configs", M.FormConfig)

export const BrandingConfigs = Sql.tableOf("authsome_branding_configs", M.BrandingConfig)

const makeAppStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const findApp = (condition: Sql.Fragment) =>
    sql`SELECT ${Apps.select} FROM authsome_apps WHERE ${condition}`.pipe(Sql.one(Apps, "app"))

  return AppStore.of({
    create: (app) =>
      sql`${Sql.insertInto(sql, Apps, [app])} RETURNING ${Apps.select}`.pipe(
        Sql.onUniqueViolation((constraint) => Sql.slugTaken(constraint) ?? Sql.conflict(constraint)),
        Sql.returned(Apps),
      ),
    get: (id) => findApp(sql`id = ${id}`),
    getBySlug: (slug) => findApp(sql`slug = ${slug}`),
    getByPublishableKey: (publishableKey) => findApp(sql`publishable_key = ${publishableKey}`),
    list: () => sql`SELECT ${Apps.select} FROM authsome_apps ORDER BY id DESC`.pipe(Sql.all(Apps)),
    update: (id, patch, now) =>
      sql`UPDATE authsome_apps SET ${Sql.assignments(sql, Apps, { ...patch, updatedAt: now })}
          WHERE id = ${id} RETURNING ${Apps.select}`.pipe(Sql.onUniqueViolation(Sql.slugTaken), Sql.one(Apps, "app")),
    // Everything the app owns goes with it through the ON DELETE CASCADE foreign keys.
    delete: (id) => sql`DELETE FROM authsome_apps WHERE id = ${id} RETURNING 1`.pipe(Sql.found("app")),
  })
})

const makeEnvironmentStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const transaction = Sql.transaction(sql)
  const findEnvironment = (condition: Sql.Fragment) =>
    sql`SELECT ${Environments.select} FROM authsome_environments WHERE ${condition}`.pipe(
      Sql.one(Environments, "environment"),
    )

  const setDefault = (id: Id.EnvironmentId, now: Date) =>
    Effect.gen(function* () {
      const { appId } = yield* findEnvironment(sql`id = ${id}`)
      // Serialises default switches of one app (NO KEY UPDATE does not block inserts referencing the app).
      yield* sql`SELECT 1 FROM authsome_apps WHERE id = ${appId} FOR NO KEY UPDATE`.pipe(Sql.exec)
      // Clear the old default first: the partial unique index allows one default per app at any moment.
      yield* sql`UPDATE authsome_environments SET is_default = false, updated_at = ${now}
                 WHERE app_id = ${appId} AND is_default AND id <> ${id}`.pipe(Sql.exec)
      return yield* sql`UPDATE authsome_environments SET is_default = true, updated_at = ${now}
                        WHERE id = ${id} RETURNING ${Environments.select}`.pipe(Sql.one(Environments, "environment"))
    }).pipe(transaction)

  return EnvironmentStore.of({
    create: (env) =>
      sql`${Sql.insertInto(sql, Environments, [env])} RETURNING ${Environments.select}`.pipe(
        Sql.onUniqueViolation((constraint) => Sql.slugTaken(constraint) ?? Sql.conflict(constraint)),
        Sql.returned(Environments),
      ),
    get: (id) => findEnvironment(sql`id = ${id}`),
    getBySlug: (appId, slug) => findEnvironment(sql`app_id = ${appId} AND slug = ${slug}`),
    getDefault: (appId) => findEnvironment(sql`app_id = ${appId} AND is_default`),
    list: (appId) =>
      sql`SELECT ${Environments.select} FROM authsome_environments WHERE app_id = ${appId} ORDER BY id`.pipe(
        Sql.all(Environments),
      ),
    update: (id, patch, now) =>
      sql`UPDATE authsome_environments SET ${Sql.assignments(sql, Environments, { ...patch, updatedAt: now })}
          WHERE id = ${id} RETURNING ${Environments.select}`.pipe(
        Sql.onUniqueViolation(Sql.slugTaken),
        Sql.one(Environments, "environment"),
      ),
    delete: (id) =>
      sql`DELETE FROM authsome_environments WHERE id = ${id} AND NOT is_default RETURNING 1`.pipe(
        Sql.changed,
        Effect.flatMap((deleted) =>
          deleted
            ? Effect.void
            : // Nothing deleted: either it does not exist or it is the default.
              Effect.zipRight(
                findEnvironment(sql`id = ${id}`),
                Effect.fail(new Conflict({ message: "the default environment cannot be deleted" })),
              ),
        ),
      ),
    setDefault,
  })
})

const makeAppSessionConfigStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return AppSessionConfigStore.of({
    get: (appId) =>
      sql`SELECT ${AppSessionConfigs.select} FROM authsome_app_session_configs WHERE app_id = ${appId}`.pipe(
        Sql.one(AppSessionConfigs, "app_session_config"),
      ),
    upsert: (config) =>
      sql`${Sql.insertInto(sql, AppSessionConfigs, [config])}
          ON CONFLICT (app_id) DO UPDATE SET ${Sql.fromExcluded<M.AppSessionConfig>(
            "tokenTtlSeconds",
            "refreshTokenTtlSeconds",
            "maxActiveSessions",
            "rotateRefreshToken",
            "updatedAt",
          )}
          RETURNING ${AppSessionConfigs.select}`.pipe(Sql.returned(AppSessionConfigs)),
    delete: (appId) =>
      sql`DELETE FROM authsome_app_session_configs WHERE app_id = ${appId} RETURNING 1`.pipe(
        Sql.found("app_session_config"),
      ),
  })
})

const makeFormConfigStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return FormConfigStore.of({
    get: (appId, formType) =>
      sql`SELECT ${FormConfigs.select} FROM authsome_form_configs
          WHERE app_id = ${appId} AND form_type = ${formType}`.pipe(Sql.one(FormConfigs, "form_config")),
    save: (input, newId, now) => {
      const created: M.FormConfig = { ...input, id: newId, version: 1, createdAt: now, updatedAt: now }
      return sql`${Sql.insertInto(sql, FormConfigs, [created])}
                 ON CONFLICT (app_id, form_type) DO UPDATE SET
                   ${Sql.fromExcluded<M.FormConfig>("fields", "active", "updatedAt")},
                   version = authsome_form_configs.version + 1
                 RETURNING ${FormConfigs.select}`.pipe(Sql.returned(FormConfigs))
    },
    delete: (appId, formType) =>
      sql`DELETE FROM authsome_form_configs WHERE app_id = ${appId} AND form_type = ${formType} RETURNING 1`.pipe(
        Sql.found("form_config"),
      ),
    list: (appId) =>
      sql`SELECT ${FormConfigs.select} FROM authsome_form_configs WHERE app_id = ${appId} ORDER BY id`.pipe(
        Sql.all(FormConfigs),
      ),
  })
})

const makeBrandingStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return BrandingStore.of({
    get: (orgId) =>
      sql`SELECT ${BrandingConfigs.select} FROM authsome_branding_configs WHERE org_id = ${orgId}`.pipe(
        Sql.one(BrandingConfigs, "branding_config"),
      ),
    upsert: (config) =>
      sql`${Sql.insertInto(sql, BrandingConfigs, [config])}
          ON CONFLICT (org_id) DO UPDATE SET ${Sql.fromExcluded<M.BrandingConfig>(
            "logoUrl",
            "primaryColor",
            "backgroundColor",
            "accentColor",
            "fontFamily",
            "customCss",
            "companyName",
            "tagline",
            "updatedAt",
          )}
          RETURNING ${BrandingConfigs.select}`.pipe(Sql.returned(BrandingConfigs)),
    delete: (orgId) =>
      sql`DELETE FROM authsome_branding_configs WHERE org_id = ${orgId} RETURNING 1`.pipe(Sql.found("branding_config")),
  })
})

export const tenancyLayer = Layer.mergeAll(
  Layer.effect(AppStore, makeAppStore),
  Layer.effect(EnvironmentStore, makeEnvironmentStore),
  Layer.effect(AppSessionConfigStore, makeAppSessionConfigStore),
  Layer.effect(FormConfigStore, makeFormConfigStore),
  Layer.effect(BrandingStore, makeBrandingStore),
)
