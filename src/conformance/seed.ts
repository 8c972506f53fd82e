/**
 * Effects that put fixture rows into the stores. Setup is not what a test checks, so typed errors become defects.
 */
import { Effect } from "effect"
import type * as M from "../domain/models.js"
import {
  AppStore,
  EnvironmentStore,
  MemberStore,
  OrganizationStore,
  SessionStore,
  UserStore,
} from "../services/store/index.js"
import { makeApp, makeEnv, makeMember, makeOrg, makeSession, makeUser, type Tenant } from "./fixtures.js"

/** A fresh app with its default (development) environment. */
export const seedTenant = (app: Partial<M.App> = {}): Effect.Effect<Tenant, never, AppStore | EnvironmentStore> =>
  Effect.gen(function* () {
    const created = yield* Effect.flatMap(AppStore, (apps) => apps.create(makeApp(app)))
    const env = yield* Effect.flatMap(EnvironmentStore, (envs) =>
      envs.create(makeEnv(created.id, { name: "Development", slug: "development", isDefault: true })),
    )
    return { app: created, env }
  }).pipe(Effect.orDie)

/** A second environment of the tenant's app (the same app, another user namespace). */
export const seedEnv = (
  tenant: Tenant,
  env: Partial<M.Environment> = {},
): Effect.Effect<Tenant, never, EnvironmentStore> =>
  Effect.flatMap(EnvironmentStore, (envs) =>
    envs.create(makeEnv(tenant.app.id, { name: "Staging", type: "staging", ...env })),
  ).pipe(
    Effect.map((created) => ({ app: tenant.app, env: created })),
    Effect.orDie,
  )

export const seedUser = (tenant: Tenant, user: Partial<M.User> = {}): Effect.Effect<M.User, never, UserStore> =>
  Effect.flatMap(UserStore, (users) => users.create(makeUser(tenant, user))).pipe(Effect.orDie)

export const seedSession = (
  user: M.User,
  session: Partial<M.Session> = {},
): Effect.Effect<M.Session, never, SessionStore> =>
  Effect.flatMap(SessionStore, (sessions) => sessions.create(makeSession(user, session)))

export const seedOrg = (
  creator: M.User,
  org: Partial<M.Organization> = {},
): Effect.Effect<M.Organization, never, OrganizationStore> =>
  Effect.flatMap(OrganizationStore, (orgs) => orgs.create(makeOrg(creator, org))).pipe(Effect.orDie)

export const seedMember = (
  org: M.Organization,
  user: M.User,
  role: M.OrgRole = "member",
): Effect.Effect<M.Member, never, MemberStore> =>
  Effect.flatMap(MemberStore, (members) => members.create(makeMember(org, user, role))).pipe(Effect.orDie)

/** A user of a tenant of its own. */
export const userInNewTenant = Effect.flatMap(seedTenant(), (tenant) => seedUser(tenant))
