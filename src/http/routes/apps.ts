/**
 * Apps and environments (http-api.md §5): apps with publishable keys, their session lifetimes and sign-up form,
 * environments with clone — for the platform administrator (`app:*` from the platform app) — and each
 * organization's branding (read by its members, written by its owners and admins).
 */
import { Effect, Schema } from "effect"
import type * as M from "../../domain/models.js"
import { json, status } from "../../plugin/kit.js"
import { type Authenticated, sessionRoute } from "../../plugin/route.js"
import { Apps, type Branding, type EnvironmentChanges, type SessionLifetimes } from "../../services/apps.js"
import type { Actor } from "../../services/roles.js"
import { SignUpForm } from "../../services/signup-form.js"
import { HttpUrlField, MetadataField, StatusJson } from "../schemas.js"

const Timestamp = Schema.String.annotations({ format: "date-time" })

const actorOf = (auth: Authenticated): Actor => ({ user: auth.user, scopes: auth.apiKey?.scopes })

export const AppJson = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  slug: Schema.String,
  logo: Schema.NullOr(Schema.String),
  publishable_key: Schema.String.annotations({ description: "public: names the app in `X-Publishable-Key`" }),
  is_platform: Schema.Boolean,
  metadata: MetadataField,
  created_at: Timestamp,
}).annotations({ identifier: "App" })

export const EnvironmentJson = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  name: Schema.String,
  slug: Schema.String,
  type: Schema.Literal("development", "staging", "production"),
  is_default: Schema.Boolean,
  color: Schema.NullOr(Schema.String),
  description: Schema.NullOr(Schema.String),
  settings: MetadataField,
  cloned_from: Schema.NullOr(Schema.String),
  created_at: Timestamp,
}).annotations({ identifier: "Environment" })

const TtlSeconds = Schema.NullOr(Schema.Number.pipe(Schema.int(), Schema.between(60, 366 * 24 * 3600)))

const SessionConfigJson = Schema.Struct({
  token_ttl_seconds: TtlSeconds.annotations({ description: "null: the server's `session.tokenTtl`" }),
  refresh_token_ttl_seconds: TtlSeconds.annotations({ description: "null: the server's `session.refreshTokenTtl`" }),
}).annotations({ identifier: "AppSessionConfig" })

const BrandingJson = Schema.Struct({
  company_name: Schema.NullOr(Schema.String.pipe(Schema.maxLength(200))),
  logo_url: Schema.NullOr(HttpUrlField),
  primary_color: Schema.NullOr(
    Schema.String.pipe(
      Schema.pattern(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/, {
        message: () => "must be a hex color (#rgb, #rrggbb or #rrggbbaa)",
      }),
    ),
  ),
}).annotations({ identifier: "Branding" })

const SignUpFormJson = SignUpForm.annotations({ identifier: "SignUpForm" })

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100))
const Slug = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: () => "must be lower-case letters, digits, - and _" }),
)
const Color = Schema.NullOr(Schema.String.pipe(Schema.maxLength(32)))
const Description = Schema.NullOr(Schema.String.pipe(Schema.maxLength(1000)))
const EnvironmentType = Schema.Literal("development", "staging", "production")

const appJson = (app: M.App): typeof AppJson.Type => ({
  id: app.id,
  name: app.name,
  slug: app.slug,
  logo: app.logo,
  publishable_key: app.publishableKey,
  is_platform: app.isPlatform,
  metadata: app.metadata,
  created_at: app.createdAt.toISOString(),
})

const environmentJson = (env: M.Environment): typeof EnvironmentJson.Type => ({
  id: env.id,
  app_id: env.appId,
  name: env.name,
  slug: env.slug,
  type: env.type,
  is_default: env.isDefault,
  color: env.color,
  description: env.description,
  settings: env.settings,
  cloned_from: env.clonedFrom,
  created_at: env.createdAt.toISOString(),
})

const sessionConfigJson = (lifetimes: SessionLifetimes): typeof SessionConfigJson.Type => ({
  token_ttl_seconds: lifetimes.tokenTtlSeconds,
  refresh_token_ttl_seconds: lifetimes.refreshTokenTtlSeconds,
})

const brandingJson = (branding: Branding): typeof BrandingJson.Type => ({
  company_name: branding.companyName,
  logo_url: branding.logoUrl,
  primary_color: branding.primaryColor,
})

const platform = "app:*" as const

export const appRoutes = Effect.gen(function* () {
  const apps = yield* Apps
  const id = (params: Readonly<Record<string, string>>) => params["id"] ?? ""

  const createApp = sessionRoute({
    method: "POST",
    path: "/admin/apps",
    tag: "Apps",
    summary: "Create an app (a tenant) with its publishable key, three environments and the built-in roles",
    requires: platform,
    body: Schema.Struct({
      name: Name,
      slug: Slug,
      logo: Schema.optional(Schema.NullOr(HttpUrlField)),
      metadata: Schema.optional(MetadataField),
    }),
    responses: { 201: { description: "the app", schema: AppJson } },
    handler: (request) =>
      Effect.map(
        apps.createApp(actorOf(request.auth), request.client, {
          ...request.body,
          metadata: request.body.metadata ?? undefined,
        }),
        (app) => json(201, appJson(app)),
      ),
  })

  const listApps = sessionRoute({
    method: "GET",
    path: "/admin/apps",
    tag: "Apps",
    summary: "Every app, newest first",
    requires: platform,
    responses: { 200: { description: "apps", schema: Schema.Struct({ apps: Schema.Array(AppJson) }) } },
    handler: (request) => Effect.map(apps.listApps(request.client), (all) => json(200, { apps: all.map(appJson) })),
  })

  const getApp = sessionRoute({
    method: "GET",
    path: "/admin/apps/:id",
    tag: "Apps",
    summary: "One app",
    requires: platform,
    responses: { 200: { description: "the app", schema: AppJson } },
    handler: (request) => Effect.map(apps.getApp(request.client, id(request.params)), (app) => json(200, appJson(app))),
  })

  const updateApp = sessionRoute({
    method: "PATCH",
    path: "/admin/apps/:id",
    tag: "Apps",
    summary: "Rename an app, change its slug, logo or metadata",
    requires: platform,
    body: Schema.Struct({
      name: Schema.optional(Name),
      slug: Schema.optional(Slug),
      logo: Schema.optional(Schema.NullOr(HttpUrlField)),
      metadata: Schema.optional(MetadataField),
    }),
    responses: { 200: { description: "the app", schema: AppJson } },
    handler: (request) =>
      Effect.map(
        apps.updateApp(actorOf(request.auth), request.client, id(request.params), {
          ...request.body,
          metadata: request.body.metadata ?? undefined,
        }),
        (app) => json(200, appJson(app)),
      ),
  })

  const deleteApp = sessionRoute({
    method: "DELETE",
    path: "/admin/apps/:id",
    tag: "Apps",
    summary: "Delete an app and everything it owns (users, sessions, orgs, keys, webhooks, ...) in one transaction",
    description: "The platform app cannot be deleted (409 `conflict`).",
    requires: platform,
    responses: { 200: { description: "deleted", schema: StatusJson } },
    handler: (request) =>
      Effect.as(apps.deleteApp(actorOf(request.auth), request.client, id(request.params)), status("deleted")),
  })

  const getSessionConfig = sessionRoute({
    method: "GET",
    path: "/admin/apps/:id/session-config",
    tag: "Apps",
    summary: "The app's session lifetimes (null: the server's configuration applies)",
    requires: platform,
    responses: { 200: { description: "the lifetimes", schema: SessionConfigJson } },
    handler: (request) =>
      Effect.map(apps.getSessionConfig(request.client, id(request.params)), (lifetimes) =>
        json(200, sessionConfigJson(lifetimes)),
      ),
  })

  const putSessionConfig = sessionRoute({
    method: "PUT",
    path: "/admin/apps/:id/session-config",
    tag: "Apps",
    summary: "Set the app's session lifetimes (seconds, 60 to 366 days); sessions started afterwards use them",
    requires: platform,
    body: Schema.Struct({
      token_ttl_seconds: Schema.optionalWith(TtlSeconds, { default: () => null }),
      refresh_token_ttl_seconds: Schema.optionalWith(TtlSeconds, { default: () => null }),
    }),
    responses: { 200: { description: "the lifetimes", schema: SessionConfigJson } },
    handler: (request) =>
      Effect.map(
        apps.putSessionConfig(actorOf(request.auth), request.client, id(request.params), {
          tokenTtlSeconds: request.body.token_ttl_seconds,
          refreshTokenTtlSeconds: request.body.refresh_token_ttl_seconds,
        }),
        (lifetimes) => json(200, sessionConfigJson(lifetimes)),
      ),
  })

  const deleteSessionConfig = sessionRoute({
    method: "DELETE",
    path: "/admin/apps/:id/session-config",
    tag: "Apps",
    summary: "Drop the app's session lifetimes: the server's configuration applies again",
    requires: platform,
    responses: { 200: { description: "deleted", schema: StatusJson } },
    handler: (request) =>
      Effect.as(apps.deleteSessionConfig(actorOf(request.auth), request.client, id(request.params)), status("deleted")),
  })

  const getSignUpForm = sessionRoute({
    method: "GET",
    path: "/admin/apps/:id/forms/signup",
    tag: "Apps",
    summary: "The app's sign-up form (`fields: []` when it has none)",
    requires: platform,
    responses: { 200: { description: "the form", schema: SignUpFormJson } },
    handler: (request) => Effect.map(apps.getSignUpForm(request.client, id(request.params)), (form) => json(200, form)),
  })

  const putSignUpForm = sessionRoute({
    method: "PUT",
    path: "/admin/apps/:id/forms/signup",
    tag: "Apps",
    summary: "Set the app's sign-up form: typed fields each sign-up must fill in `metadata[key]`",
    description:
      "Types: text, textarea, email, url, phone, number, boolean, select (with `options`), date (YYYY-MM-DD). " +
      "`validation`: required, min_len/max_len (characters), pattern (a regular expression), min/max (numbers). " +
      "A sign-up that does not satisfy it gets 400 `invalid_request` with one `details` entry per field " +
      "(`path: metadata.<key>`).",
    requires: platform,
    body: SignUpForm,
    responses: { 200: { description: "the form", schema: SignUpFormJson } },
    handler: (request) =>
      Effect.map(apps.putSignUpForm(actorOf(request.auth), request.client, id(request.params), request.body), (form) =>
        json(200, form),
      ),
  })

  // --- environments ------------------------------------------------------------------------------------------------

  const NewEnvironmentBody = Schema.Struct({
    name: Name,
    slug: Slug,
    type: Schema.optional(EnvironmentType),
    color: Schema.optional(Color),
    description: Schema.optional(Description),
    settings: Schema.optional(MetadataField),
  })

  const createEnvironment = sessionRoute({
    method: "POST",
    path: "/environments",
    tag: "Apps",
    summary: "Create an environment of the request's app (or of `app_id`)",
    requires: platform,
    body: Schema.Struct({
      ...NewEnvironmentBody.fields,
      app_id: Schema.optional(Schema.String.pipe(Schema.maxLength(64))),
    }),
    responses: { 201: { description: "the environment", schema: EnvironmentJson } },
    handler: (request) => {
      const { app_id, ...input } = request.body
      return Effect.map(
        apps.createEnvironment(actorOf(request.auth), request.client, app_id, {
          ...input,
          settings: input.settings ?? undefined,
        }),
        (env) => json(201, environmentJson(env)),
      )
    },
  })

  const listEnvironments = sessionRoute({
    method: "GET",
    path: "/environments",
    tag: "Apps",
    summary: "The environments of the request's app (or of `?app_id=`), oldest first",
    requires: platform,
    query: [{ name: "app_id", description: "another app's environments" }],
    responses: {
      200: { description: "environments", schema: Schema.Struct({ environments: Schema.Array(EnvironmentJson) }) },
    },
    handler: (request) =>
      Effect.map(apps.listEnvironments(request.client, request.query.get("app_id") || undefined), (all) =>
        json(200, { environments: all.map(environmentJson) }),
      ),
  })

  const getEnvironment = sessionRoute({
    method: "GET",
    path: "/environments/:id",
    tag: "Apps",
    summary: "One environment",
    requires: platform,
    responses: { 200: { description: "the environment", schema: EnvironmentJson } },
    handler: (request) =>
      Effect.map(apps.getEnvironment(request.client, id(request.params)), (env) => json(200, environmentJson(env))),
  })

  const updateEnvironment = sessionRoute({
    method: "PATCH",
    path: "/environments/:id",
    tag: "Apps",
    summary: "Rename an environment, change its slug, color, description or settings, or make it the default",
    requires: platform,
    body: Schema.Struct({
      name: Schema.optional(Name),
      slug: Schema.optional(Slug),
      color: Schema.optional(Color),
      description: Schema.optional(Description),
      settings: Schema.optional(MetadataField),
      is_default: Schema.optional(Schema.Boolean),
    }),
    responses: { 200: { description: "the environment", schema: EnvironmentJson } },
    handler: (request) => {
      const { is_default, settings, ...rest } = request.body
      const changes: EnvironmentChanges = {
        ...rest,
        ...(settings === undefined ? {} : { settings }),
        ...(is_default === undefined ? {} : { isDefault: is_default }),
      }
      return Effect.map(
        apps.updateEnvironment(actorOf(request.auth), request.client, id(request.params), changes),
        (env) => json(200, environmentJson(env)),
      )
    },
  })

  const deleteEnvironment = sessionRoute({
    method: "DELETE",
    path: "/environments/:id",
    tag: "Apps",
    summary: "Delete an environment and everything in it (the default one cannot be: 409 `conflict`)",
    requires: platform,
    responses: { 200: { description: "deleted", schema: StatusJson } },
    handler: (request) =>
      Effect.as(apps.deleteEnvironment(actorOf(request.auth), request.client, id(request.params)), status("deleted")),
  })

  const cloneEnvironment = sessionRoute({
    method: "POST",
    path: "/environments/:id/clone",
    tag: "Apps",
    summary: "A new environment of the same app with this one's type, color, description and settings",
    description: "Users, sessions and other data are not copied; `cloned_from` names the source.",
    requires: platform,
    body: Schema.Struct({
      name: Name,
      slug: Slug,
      type: Schema.optional(EnvironmentType),
      color: Schema.optional(Color),
      description: Schema.optional(Description),
    }),
    responses: { 201: { description: "the new environment", schema: EnvironmentJson } },
    handler: (request) =>
      Effect.map(
        apps.cloneEnvironment(actorOf(request.auth), request.client, id(request.params), request.body),
        (env) => json(201, environmentJson(env)),
      ),
  })

  // --- branding ------------------------------------------------------------------------------------------------------

  const getBranding = sessionRoute({
    method: "GET",
    path: "/orgs/:orgId/branding",
    tag: "Organizations",
    summary: "An organization's branding (its members; null fields when unset)",
    responses: { 200: { description: "the branding", schema: BrandingJson } },
    handler: (request) =>
      Effect.map(apps.getBranding(actorOf(request.auth), request.client, request.params["orgId"] ?? ""), (branding) =>
        json(200, brandingJson(branding)),
      ),
  })

  const putBranding = sessionRoute({
    method: "PUT",
    path: "/orgs/:orgId/branding",
    tag: "Organizations",
    summary: "Set an organization's branding (its owners and admins)",
    body: Schema.Struct({
      company_name: Schema.optionalWith(BrandingJson.fields.company_name, { default: () => null }),
      logo_url: Schema.optionalWith(BrandingJson.fields.logo_url, { default: () => null }),
      primary_color: Schema.optionalWith(BrandingJson.fields.primary_color, { default: () => null }),
    }),
    responses: { 200: { description: "the branding", schema: BrandingJson } },
    handler: (request) =>
      Effect.map(
        apps.putBranding(actorOf(request.auth), request.client, request.params["orgId"] ?? "", {
          companyName: request.body.company_name,
          logoUrl: request.body.logo_url,
          primaryColor: request.body.primary_color,
        }),
        (branding) => json(200, brandingJson(branding)),
      ),
  })

  return [
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
    createEnvironment,
    listEnvironments,
    getEnvironment,
    updateEnvironment,
    deleteEnvironment,
    cloneEnvironment,
    getBranding,
    putBranding,
  ]
})
