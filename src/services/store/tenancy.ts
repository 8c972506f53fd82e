import { Context, type Effect } from "effect"
import type { Conflict, NotFound, SlugTaken } from "../../domain/errors.js"
import type * as Id from "../../domain/ids.js"
import type * as M from "../../domain/models.js"

export type AppPatch = Partial<Pick<M.App, "name" | "slug" | "logo" | "metadata">>

/** Apps (tenants). Slugs and publishable keys are globally unique. */
export interface AppStoreShape {
  readonly create: (app: M.App) => Effect.Effect<M.App, SlugTaken | Conflict>
  readonly get: (id: Id.AppId) => Effect.Effect<M.App, NotFound>
  readonly getBySlug: (slug: string) => Effect.Effect<M.App, NotFound>
  readonly getByPublishableKey: (publishableKey: string) => Effect.Effect<M.App, NotFound>
  /** Newest first. */
  readonly list: () => Effect.Effect<ReadonlyArray<M.App>>
  readonly update: (id: Id.AppId, patch: AppPatch, now: Date) => Effect.Effect<M.App, NotFound | SlugTaken>
  /** Deletes the app and everything it owns (users, sessions, orgs, keys, webhooks, ...). */
  readonly delete: (id: Id.AppId) => Effect.Effect<void, NotFound>
}
export class AppStore extends Context.Tag("authsome/AppStore")<AppStore, AppStoreShape>() {}

export type EnvironmentPatch = Partial<
  Pick<M.Environment, "name" | "slug" | "color" | "description" | "settings" | "metadata">
>

/** Environments of an app; slugs are unique per app and exactly one is the default. */
export interface EnvironmentStoreShape {
  readonly create: (env: M.Environment) => Effect.Effect<M.Environment, SlugTaken | Conflict>
  readonly get: (id: Id.EnvironmentId) => Effect.Effect<M.Environment, NotFound>
  readonly getBySlug: (appId: Id.AppId, slug: string) => Effect.Effect<M.Environment, NotFound>
  readonly getDefault: (appId: Id.AppId) => Effect.Effect<M.Environment, NotFound>
  /** Oldest first (development, staging, production for a bootstrapped app). */
  readonly list: (appId: Id.AppId) => Effect.Effect<ReadonlyArray<M.Environment>>
  readonly update: (
    id: Id.EnvironmentId,
    patch: EnvironmentPatch,
    now: Date,
  ) => Effect.Effect<M.Environment, NotFound | SlugTaken>
  /** Fails with `Conflict` for the default environment. */
  readonly delete: (id: Id.EnvironmentId) => Effect.Effect<void, NotFound | Conflict>
  /** Makes this environment the app's only default. */
  readonly setDefault: (id: Id.EnvironmentId, now: Date) => Effect.Effect<M.Environment, NotFound>
}
export class EnvironmentStore extends Context.Tag("authsome/EnvironmentStore")<
  EnvironmentStore,
  EnvironmentStoreShape
>() {}

/** Per-app overrides of session lifetimes; one row per app. */
export interface AppSessionConfigStoreShape {
  readonly get: (appId: Id.AppId) => Effect.Effect<M.AppSessionConfig, NotFound>
  /** Inserts or replaces the app's row (keeping its id and createdAt when it exists). */
  readonly upsert: (config: M.AppSessionConfig) => Effect.Effect<M.AppSessionConfig>
  readonly delete: (appId: Id.AppId) => Effect.Effect<void, NotFound>
}
export class AppSessionConfigStore extends Context.Tag("authsome/AppSessionConfigStore")<
  AppSessionConfigStore,
  AppSessionConfigStoreShape
>() {}

export interface FormConfigInput {
  readonly appId: Id.AppId
  readonly formType: string
  readonly fields: ReadonlyArray<unknown>
  readonly active: boolean
}

/** Dynamic form definitions (sign-up fields); one per app and form type, versioned on each save. */
export interface FormConfigStoreShape {
  readonly get: (appId: Id.AppId, formType: string) => Effect.Effect<M.FormConfig, NotFound>
  /** Creates the form (version 1, id from `newId`) or replaces its fields and increments its version. */
  readonly save: (input: FormConfigInput, newId: Id.FormConfigId, now: Date) => Effect.Effect<M.FormConfig>
  readonly delete: (appId: Id.AppId, formType: string) => Effect.Effect<void, NotFound>
  readonly list: (appId: Id.AppId) => Effect.Effect<ReadonlyArray<M.FormConfig>>
}
export class FormConfigStore extends Context.Tag("authsome/FormConfigStore")<FormConfigStore, FormConfigStoreShape>() {}

/** Per-organization branding; one row per organization. */
export interface BrandingStoreShape {
  readonly get: (orgId: Id.OrganizationId) => Effect.Effect<M.BrandingConfig, NotFound>
  /** Inserts or replaces the organization's row (keeping its id and createdAt when it exists). */
  readonly upsert: (config: M.BrandingConfig) => Effect.Effect<M.BrandingConfig>
  readonly delete: (orgId: Id.OrganizationId) => Effect.Effect<void, NotFound>
}
export class BrandingStore extends Context.Tag("authsome/BrandingStore")<BrandingStore, BrandingStoreShape>() {}
