/**
 * Apps and environments (http-api.md §5), for the platform administrator: the holder of `app:*` (the built-in
 * `owner`, i.e. the first user of the default app) calling from the platform app. Apps with their publishable keys,
 * per-app session lifetimes (applied to sessions started afterwards), the sign-up form, environments with clone, and
 * per-organization branding (for that organization's admins). Deleting an app removes everything it owns in one
 * statement (`ON DELETE CASCADE`), so it is all or nothing.
 */
import { Clock, Effect } from "effect"
import { Conflict, Forbidden, NotFound } from "../domain/errors.js"
import { type AppId, type EnvironmentId, isId, newId, type OrganizationId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import { Authorization } from "./authorization.js"
import type { ClientContext } from "./context.js"
import { Events } from "./events.js"
import type { Actor } from "./roles.js"
import { Sessions } from "./sessions.js"
import { type SignUpForm, SignUpForms } from "./signup-form.js"
import {
  AppSessionConfigStore,
  AppStore,
  BrandingStore,
  EnvironmentStore,
  MemberStore,
  OrganizationStore,
  Store,
} from "./store/index.js"
import { publishableKey, Tenancy } from "./tenancy.js"

export interface NewApp {
  readonly name: string
  readonly slug: string
  readonly logo?: string | null | undefined
  readonly metadata?: M.Metadata | undefined
}

export interface AppChanges {
  readonly name?: string | undefined
  readonly slug?: string | undefined
  readonly logo?: string | null | undefined
  readonly metadata?: M.Metadata | undefined
}

export interface SessionLifetimes {
  readonly tokenTtlSeconds: number | null
  readonly refreshTokenTtlSeconds: number | null
}

export interface NewEnvironment {
  readonly name: string
  readonly slug: string
  readonly type?: M.EnvironmentType | undefined
  readonly color?: string | null | undefined
  readonly description?: string | null | undefined
  readonly settings?: M.Metadata | undefined
}

export interface EnvironmentChanges {
  readonly name?: string | undefined
  readonly slug?: string | undefined
  readonly color?: string | null | undefined
  readonly description?: string | null | undefined
  readonly settings?: M.Metadata | undefined
  /** `true` makes it the app's default environment. */
  readonly isDefault?: boolean | undefined
}

export interface Branding {
  readonly companyName: string | null
  readonly logoUrl: string | null
  readonly primaryColor: string | null
}

/** The fields given (a patch's `undefined` means "leave as is", which the stores express by absence). */
const given = <T extends object>(value: T) =>
  Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>
  }

const appNotFound = () => new NotFound({ entity: "app" })
const environmentNotFound = () => new NotFound({ entity: "environment" })
const organizationNotFound = () => new NotFound({ entity: "organization" })

export class Apps extends Effect.Service<Apps>()("authsome/Apps", {
  effect: Effect.gen(function* () {
    const store = yield* Store
    const apps = yield* AppStore
    const environments = yield* EnvironmentStore
    const sessionConfigs = yield* AppSessionConfigStore
    const brandings = yield* BrandingStore
    const organizations = yield* OrganizationStore
    const members = yield* MemberStore
    const tenancy = yield* Tenancy
    const sessions = yield* Sessions
    const forms = yield* SignUpForms
    const authorization = yield* Authorization
    const events = yield* Events
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    /** Apps are managed from the platform app only: another app's `*:*` holder administers that app, not all. */
    const ensurePlatform = (client: ClientContext) =>
      client.app.isPlatform
        ? Effect.void
        : Effect.fail(new Forbidden({ message: "apps are managed from the platform app" }))

    const getApp = (client: ClientContext, id: string) =>
      Effect.zipRight(ensurePlatform(client), isId("app", id) ? apps.get(id as AppId) : Effect.fail(appNotFound()))

    /** A new app with its environments (development, the default; staging; production) and built-in roles. */
    const createApp = (actor: Actor, client: ClientContext, input: NewApp) =>
      Effect.gen(function* () {
        yield* ensurePlatform(client)
        const at = yield* now
        return yield* store.transaction(
          Effect.gen(function* () {
            const app = yield* apps.create({
              id: newId.app(),
              name: input.name,
              slug: input.slug,
              logo: input.logo ?? null,
              publishableKey: publishableKey(),
              isPlatform: false,
              metadata: input.metadata ?? null,
              createdAt: at,
              updatedAt: at,
            })
            yield* tenancy.provisionApp(app)
            yield* events.emit(client, {
              type: "app.created",
              actorId: actor.user.id,
              metadata: { app_id: app.id, slug: app.slug },
            })
            return app
          }),
        )
      })

    const listApps = (client: ClientContext) => Effect.zipRight(ensurePlatform(client), apps.list())

    const updateApp = (actor: Actor, client: ClientContext, id: string, changes: AppChanges) =>
      Effect.gen(function* () {
        const app = yield* getApp(client, id)
        return yield* store.transaction(
          Effect.gen(function* () {
            const updated = yield* apps.update(app.id, given(changes), yield* now)
            yield* events.emit(client, {
              type: "app.updated",
              actorId: actor.user.id,
              metadata: { app_id: app.id, fields: Object.keys(changes) },
            })
            return updated
          }),
        )
      })

    /** Deletes the app and everything it owns; the platform app itself cannot be deleted. */
    const deleteApp = (actor: Actor, client: ClientContext, id: string) =>
      Effect.gen(function* () {
        const app = yield* getApp(client, id)
        if (app.isPlatform) return yield* new Conflict({ message: "the platform app cannot be deleted" })
        yield* store.transaction(
          Effect.zipRight(
            apps.delete(app.id),
            events.emit(client, {
              type: "app.deleted",
              actorId: actor.user.id,
              metadata: { app_id: app.id, slug: app.slug },
            }),
          ),
        )
        yield* tenancy.forget(app)
      })

    /** The app's session lifetimes: its overrides, `null` where the server's configuration applies. */
    const getSessionConfig = (client: ClientContext, id: string) =>
      Effect.flatMap(getApp(client, id), (app) =>
        sessionConfigs.get(app.id).pipe(
          Effect.map(
            (row): SessionLifetimes => ({
              tokenTtlSeconds: row.tokenTtlSeconds,
              refreshTokenTtlSeconds: row.refreshTokenTtlSeconds,
            }),
          ),
          Effect.catchTag("NotFound", () =>
            Effect.succeed<SessionLifetimes>({ tokenTtlSeconds: null, refreshTokenTtlSeconds: null }),
          ),
        ),
      )

    const putSessionConfig = (actor: Actor, client: ClientContext, id: string, lifetimes: SessionLifetimes) =>
      Effect.gen(function* () {
        const app = yield* getApp(client, id)
        const at = yield* now
        const saved = yield* store.transaction(
          Effect.gen(function* () {
            const row = yield* sessionConfigs.upsert({
              id: newId.appSessionConfig(),
              appId: app.id,
              tokenTtlSeconds: lifetimes.tokenTtlSeconds,
              refreshTokenTtlSeconds: lifetimes.refreshTokenTtlSeconds,
              maxActiveSessions: null,
              rotateRefreshToken: null,
              createdAt: at,
              updatedAt: at,
            })
            yield* events.emit(client, {
              type: "app.session_config.updated",
              actorId: actor.user.id,
              metadata: { app_id: app.id },
            })
            return row
          }),
        )
        yield* sessions.forgetLifetimes(app.id)
        return { tokenTtlSeconds: saved.tokenTtlSeconds, refreshTokenTtlSeconds: saved.refreshTokenTtlSeconds }
      })

    const deleteSessionConfig = (actor: Actor, client: ClientContext, id: string) =>
      Effect.gen(function* () {
        const app = yield* getApp(client, id)
        yield* store.transaction(
          Effect.zipRight(
            sessionConfigs.delete(app.id).pipe(Effect.catchTag("NotFound", () => Effect.void)),
            events.emit(client, {
              type: "app.session_config.deleted",
              actorId: actor.user.id,
              metadata: { app_id: app.id },
            }),
          ),
        )
        yield* sessions.forgetLifetimes(app.id)
      })

    const getSignUpForm = (client: ClientContext, id: string) =>
      Effect.flatMap(getApp(client, id), (app) => forms.get(app.id))

    const putSignUpForm = (actor: Actor, client: ClientContext, id: string, form: SignUpForm) =>
      Effect.gen(function* () {
        const app = yield* getApp(client, id)
        yield* store.transaction(
          Effect.zipRight(
            forms.save(app.id, form),
            events.emit(client, {
              type: "app.signup_form.updated",
              actorId: actor.user.id,
              metadata: { app_id: app.id, fields: form.fields.length },
            }),
          ),
        )
        return form
      })

    // --- environments ------------------------------------------------------------------------------------------

    /** The app environments are managed in: `appId` when given (any app), else the request's. */
    const targetApp = (client: ClientContext, appId: string | undefined) =>
      appId === undefined ? Effect.zipRight(ensurePlatform(client), Effect.succeed(client.app)) : getApp(client, appId)

    const getEnvironment = (client: ClientContext, id: string) =>
      Effect.zipRight(
        ensurePlatform(client),
        isId("environment", id) ? environments.get(id as EnvironmentId) : Effect.fail(environmentNotFound()),
      )

    const listEnvironments = (client: ClientContext, appId: string | undefined) =>
      Effect.flatMap(targetApp(client, appId), (app) => environments.list(app.id))

    const insertEnvironment = (
      actor: Actor,
      client: ClientContext,
      app: M.App,
      input: NewEnvironment,
      source: M.Environment | null,
    ) =>
      Effect.gen(function* () {
        const at = yield* now
        return yield* store.transaction(
          Effect.gen(function* () {
            const env = yield* environments.create({
              id: newId.environment(),
              appId: app.id,
              name: input.name,
              slug: input.slug,
              type: input.type ?? source?.type ?? "development",
              isDefault: false,
              color: input.color ?? source?.color ?? null,
              description: input.description ?? source?.description ?? null,
              settings: input.settings ?? source?.settings ?? null,
              clonedFrom: source?.id ?? null,
              metadata: source?.metadata ?? null,
              createdAt: at,
              updatedAt: at,
            })
            yield* events.emit(client, {
              type: source ? "environment.cloned" : "environment.created",
              actorId: actor.user.id,
              metadata: { app_id: app.id, environment_id: env.id, ...(source ? { cloned_from: source.id } : {}) },
            })
            return env
          }),
        )
      })

    const createEnvironment = (actor: Actor, client: ClientContext, appId: string | undefined, input: NewEnvironment) =>
      Effect.flatMap(targetApp(client, appId), (app) => insertEnvironment(actor, client, app, input, null))

    /** A new environment of the same app with the source's type, color, description and settings (users stay). */
    const cloneEnvironment = (actor: Actor, client: ClientContext, id: string, input: NewEnvironment) =>
      Effect.gen(function* () {
        const source = yield* getEnvironment(client, id)
        const app = yield* apps.get(source.appId)
        return yield* insertEnvironment(actor, client, app, input, source)
      })

    const updateEnvironment = (actor: Actor, client: ClientContext, id: string, changes: EnvironmentChanges) =>
      Effect.gen(function* () {
        const env = yield* getEnvironment(client, id)
        if (changes.isDefault === false && env.isDefault) {
          return yield* new Conflict({ message: "make another environment the default instead" })
        }
        const { isDefault, ...patch } = changes
        const updated = yield* store.transaction(
          Effect.gen(function* () {
            const at = yield* now
            let updated = yield* environments.update(env.id, given(patch), at)
            if (isDefault === true && !env.isDefault) updated = yield* environments.setDefault(env.id, at)
            yield* events.emit(client, {
              type: "environment.updated",
              actorId: actor.user.id,
              metadata: { app_id: env.appId, environment_id: env.id, fields: Object.keys(changes) },
            })
            return updated
          }),
        )
        // The app's requests land in its default environment: this instance stops using the old one at once.
        if (isDefault === true) yield* tenancy.forget(yield* apps.get(env.appId))
        return updated
      })

    /** Deletes the environment and everything in it; the default environment cannot be deleted (409). */
    const deleteEnvironment = (actor: Actor, client: ClientContext, id: string) =>
      Effect.gen(function* () {
        const env = yield* getEnvironment(client, id)
        yield* store.transaction(
          Effect.zipRight(
            environments.delete(env.id),
            events.emit(client, {
              type: "environment.deleted",
              actorId: actor.user.id,
              metadata: { app_id: env.appId, environment_id: env.id },
            }),
          ),
        )
      })

    // --- branding ----------------------------------------------------------------------------------------------

    /** An organization of the caller's app that the caller may see (a member, or a holder of `org:*`). */
    const organizationFor = (actor: Actor, client: ClientContext, id: string, write: boolean) =>
      Effect.gen(function* () {
        const org = yield* (
          isId("organization", id) ? organizations.get(id as OrganizationId) : Effect.fail(organizationNotFound())
        ).pipe(
          Effect.filterOrFail(
            (org) => org.appId === client.app.id,
            () => organizationNotFound(),
          ),
        )
        const member = yield* Effect.option(members.getByUserAndOrg(actor.user.id, org.id))
        const allowedByRole = member._tag === "Some" && (!write || member.value.role !== "member")
        if (allowedByRole) return org
        const decision = yield* authorization.check({
          userId: actor.user.id,
          appId: client.app.id,
          resource: "org",
          action: "*",
          scopes: actor.scopes,
        })
        if (decision.allowed) return org
        return yield* member._tag === "Some"
          ? Effect.fail(new Forbidden({ message: "only the organization's owners and admins can change its branding" }))
          : Effect.fail(organizationNotFound())
      })

    const brandingOf = (row: M.BrandingConfig | null): Branding => ({
      companyName: row?.companyName ?? null,
      logoUrl: row?.logoUrl ?? null,
      primaryColor: row?.primaryColor ?? null,
    })

    const getBranding = (actor: Actor, client: ClientContext, orgId: string) =>
      Effect.flatMap(organizationFor(actor, client, orgId, false), (org) =>
        brandings.get(org.id).pipe(
          Effect.map(brandingOf),
          Effect.catchTag("NotFound", () => Effect.succeed(brandingOf(null))),
        ),
      )

    const putBranding = (actor: Actor, client: ClientContext, orgId: string, branding: Branding) =>
      Effect.gen(function* () {
        const org = yield* organizationFor(actor, client, orgId, true)
        const at = yield* now
        return yield* store.transaction(
          Effect.gen(function* () {
            const row = yield* brandings.upsert({
              id: newId.branding(),
              appId: org.appId,
              orgId: org.id,
              logoUrl: branding.logoUrl,
              primaryColor: branding.primaryColor,
              backgroundColor: null,
              accentColor: null,
              fontFamily: null,
              customCss: null,
              companyName: branding.companyName,
              tagline: null,
              createdAt: at,
              updatedAt: at,
            })
            yield* events.emit(client, {
              type: "org.branding.updated",
              actorId: actor.user.id,
              metadata: { org_id: org.id },
            })
            return brandingOf(row)
          }),
        )
      })

    return {
      createApp,
      listApps,
      getApp,
      updateApp,
      deleteApp,
      getSessionConfig,
      putSessionConfig,
      deleteSessionConfig,
      getSignUpForm,
      putSignUpForm,
      listEnvironments,
      getEnvironment,
      createEnvironment,
      cloneEnvironment,
      updateEnvironment,
      deleteEnvironment,
      getBranding,
      putBranding,
    } as const
  }),
}) {}
