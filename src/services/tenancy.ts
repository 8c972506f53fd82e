/**
 * Apps and environments: bootstraps the default app (three environments, built-in roles) and resolves the app of a
 * request from its publishable key.
 */
import { Clock, Effect } from "effect"
import { NotFound, Unauthorized } from "../domain/errors.js"
import { newId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import { AppStore, EnvironmentStore, RbacStore, Store } from "./store/index.js"
import { AuthConfig } from "./config.js"
import { randomBytes } from "node:crypto"

export interface Tenant {
  readonly app: M.App
  readonly env: M.Environment
}

const defaultEnvironments: ReadonlyArray<{ slug: string; name: string; type: M.EnvironmentType; color: string }> = [
  { slug: "development", name: "Development", type: "development", color: "#22c55e" },
  { slug: "staging", name: "Staging", type: "staging", color: "#eab308" },
  { slug: "production", name: "Production", type: "production", color: "#ef4444" },
]

/** Built-in roles, each inheriting its parent's permissions: user ← admin ← owner. */
export const builtInRoles: ReadonlyArray<{
  slug: string
  name: string
  parent: string | null
  permissions: ReadonlyArray<readonly [resource: string, action: string]>
}> = [
  { slug: "user", name: "User", parent: null, permissions: [] },
  {
    slug: "admin",
    name: "Admin",
    parent: "user",
    permissions: [
      ["user", "*"],
      ["session", "*"],
      ["role", "read"],
      ["webhook", "*"],
      ["apikey", "*"],
      ["org", "*"],
      ["audit", "read"],
    ],
  },
  { slug: "owner", name: "Owner", parent: "admin", permissions: [["*", "*"]] },
]

export const publishableKey = () => `pk_live_${randomBytes(32).toString("hex")}`

/** How long a resolved publishable key is trusted before it is looked up again. */
const appCacheMillis = 5_000

export class Tenancy extends Effect.Service<Tenancy>()("authsome/Tenancy", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    const apps = yield* AppStore
    const environments = yield* EnvironmentStore
    const rbac = yield* RbacStore
    const store = yield* Store

    // Each reads what exists in one query and creates only what is missing: on a provisioned app (every start) two
    // reads, on a new one no lookup per row.
    const ensureEnvironments = (app: M.App, now: Date) =>
      Effect.flatMap(environments.list(app.id), (existing) => {
        const slugs = new Set(existing.map((environment) => environment.slug))
        return Effect.forEach(
          defaultEnvironments,
          (spec, index) =>
            slugs.has(spec.slug)
              ? Effect.void
              : environments.create({
                  id: newId.environment(),
                  appId: app.id,
                  name: spec.name,
                  slug: spec.slug,
                  type: spec.type,
                  isDefault: index === 0,
                  color: spec.color,
                  description: null,
                  settings: null,
                  clonedFrom: null,
                  metadata: null,
                  createdAt: now,
                  updatedAt: now,
                }),
          { discard: true },
        )
      })

    const ensureRoles = (app: M.App, now: Date) =>
      Effect.gen(function* () {
        const roles = new Map((yield* rbac.listRoles(app.id)).map((role) => [role.slug, role]))
        // Parents come first in `builtInRoles`.
        for (const spec of builtInRoles) {
          if (roles.has(spec.slug)) continue
          const parent = spec.parent === null ? undefined : roles.get(spec.parent)
          if (spec.parent !== null && parent === undefined) return yield* new NotFound({ entity: "role" })
          const role = yield* rbac.createRole({
            id: newId.role(),
            appId: app.id,
            parentId: parent?.id ?? null,
            name: spec.name,
            slug: spec.slug,
            description: null,
            builtIn: true,
            createdAt: now,
            updatedAt: now,
          })
          roles.set(spec.slug, role)
          yield* rbac.addPermissions(
            spec.permissions.map(([resource, action]) => ({
              id: newId.permission(),
              appId: app.id,
              roleId: role.id,
              resource,
              action,
              createdAt: now,
            })),
          )
        }
      })

    /** Creates a missing app's environments and roles; safe to run on every start and from several instances. */
    const provisionApp = (app: M.App) =>
      Effect.gen(function* () {
        const now = new Date(yield* Clock.currentTimeMillis)
        yield* store.transaction(Effect.zipRight(ensureEnvironments(app, now), ensureRoles(app, now)))
      }).pipe(
        // Another instance provisioning the same app at the same moment wins the unique constraint: nothing to do.
        Effect.catchTags({ SlugTaken: () => Effect.void, Conflict: () => Effect.void, NotFound: Effect.die }),
      )

    const ensureDefaultApp = Effect.gen(function* () {
      const now = new Date(yield* Clock.currentTimeMillis)
      const app = yield* apps.getBySlug(config.appId).pipe(
        Effect.catchTag("NotFound", () =>
          apps
            .create({
              id: newId.app(),
              name: config.appId,
              slug: config.appId,
              logo: null,
              publishableKey: publishableKey(),
              isPlatform: true,
              metadata: null,
              createdAt: now,
              updatedAt: now,
            })
            .pipe(Effect.catchTags({ SlugTaken: () => apps.getBySlug(config.appId), Conflict: Effect.die })),
        ),
        Effect.catchTag("NotFound", Effect.die),
      )
      yield* provisionApp(app)
      return app
    })

    const defaultApp = yield* Effect.cached(ensureDefaultApp)

    const byKey = new Map<string, { tenant: Tenant; at: number }>()
    const tenantOf = (app: M.App) =>
      environments.getDefault(app.id).pipe(
        Effect.map((env): Tenant => ({ app, env })),
        Effect.catchTag("NotFound", () => Effect.die(new Error(`app ${app.id} has no default environment`))),
      )

    /** The tenant of a request: the app of `X-Publishable-Key`, or the default app. */
    const resolve = (key: string | undefined): Effect.Effect<Tenant, Unauthorized> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        // An empty header is an unknown key, not the default app.
        const cacheKey = key === undefined ? "default" : `key:${key}`
        const cached = byKey.get(cacheKey)
        if (cached && now - cached.at < appCacheMillis) return Effect.succeed(cached.tenant)
        const app =
          key === undefined
            ? defaultApp
            : apps
                .getByPublishableKey(key)
                .pipe(Effect.mapError(() => new Unauthorized({ message: "unknown publishable key" })))
        return Effect.flatMap(app, (app) =>
          Effect.map(tenantOf(app), (tenant) => {
            if (byKey.size > 10_000) byKey.clear()
            byKey.set(cacheKey, { tenant, at: now })
            return tenant
          }),
        )
      })

    /**
     * Stops trusting what is cached for the app at once (it was deleted, or its default environment changed); other
     * instances re-read it within seconds.
     */
    const forget = (app: M.App) =>
      Effect.sync(() => {
        byKey.delete(`key:${app.publishableKey}`)
        if (app.slug === config.appId) byKey.delete("default")
      })

    return { defaultApp, provisionApp, resolve, forget } as const
  }),
}) {}
