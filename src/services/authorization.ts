/**
 * Authorization: who may do what. Roles are per app and hierarchical (a role holds the permissions of its whole
 * parent chain), permissions are `resource:action` with `*` wildcards, and users hold roles app-wide or within one
 * organization. A check is one indexed query (`RbacStore.resolvePermission`) and says which role granted it.
 * Every route-level `requires` and every administrative decision goes through this service.
 */
import { Clock, Effect, Option } from "effect"
import { Forbidden } from "../domain/errors.js"
import type { AppId, OrganizationId, UserId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import {
  effectiveGrants,
  findGrant,
  formatPermission,
  type Grant,
  type PermissionName,
  scopesCover,
} from "../domain/permissions.js"
import type { ClientContext } from "./context.js"
import { RbacStore, type ResolvedPermission, Store, UserStore } from "./store/index.js"

export interface CheckInput {
  readonly userId: UserId
  readonly appId: AppId
  /** Also count the user's roles in this organization (default: app-wide roles only). */
  readonly orgId?: OrganizationId | null | undefined
  readonly resource: string
  readonly action: string
  /** An API key's scopes: the permission must be within them too (none given or empty: no restriction). */
  readonly scopes?: ReadonlyArray<string> | undefined
}

export interface Decision {
  readonly allowed: boolean
  /** The slug of the role whose permission granted it (the nearest in the chain, then the most specific). */
  readonly viaRole?: string
}

/** The decision a resolved permission (or none) makes. */
export const decisionOf = (grant: Option.Option<ResolvedPermission>): Decision =>
  Option.isSome(grant) ? { allowed: true, viaRole: grant.value.roleSlug } : { allowed: false }

/** What a route without `requires` needs from a scoped API key: everything. */
const everything: PermissionName = { resource: "*", action: "*" }

export class Authorization extends Effect.Service<Authorization>()("authsome/Authorization", {
  effect: Effect.gen(function* () {
    const store = yield* Store
    const rbac = yield* RbacStore
    const users = yield* UserStore

    const check = (input: CheckInput): Effect.Effect<Decision> => {
      const wanted = { resource: input.resource, action: input.action }
      if (input.scopes !== undefined && input.scopes.length > 0 && !scopesCover(input.scopes, wanted)) {
        return Effect.succeed({ allowed: false })
      }
      return Effect.map(
        rbac.resolvePermission({
          appId: input.appId,
          userId: input.userId,
          orgId: input.orgId ?? null,
          resource: input.resource,
          action: input.action,
        }),
        decisionOf,
      )
    }

    /** `check`, failing with `Forbidden` (naming the missing permission) when it is not allowed. */
    const ensure = (input: CheckInput): Effect.Effect<void, Forbidden> =>
      Effect.flatMap(check(input), (decision) =>
        decision.allowed
          ? Effect.void
          : Effect.fail(new Forbidden({ message: `missing permission ${input.resource}:${input.action}` })),
      )

    /**
     * The pipeline's check of a route: its `requires` (user and key scopes), or for a route without one, that a
     * scoped API key covers everything (a key limited to some permissions reaches only the routes requiring them).
     */
    const ensureRoute = (
      user: M.User,
      requires: PermissionName | undefined,
      scopes: ReadonlyArray<string> | undefined,
    ): Effect.Effect<void, Forbidden> => {
      if (requires !== undefined) return ensure({ userId: user.id, appId: user.appId, ...requires, scopes })
      return scopes === undefined || scopes.length === 0 || scopesCover(scopes, everything)
        ? Effect.void
        : Effect.fail(new Forbidden({ message: "the API key's scopes do not cover this route" }))
    }

    /**
     * Every grant the user holds — the app-wide roles, plus `orgId`'s when given — in the order decisions are
     * explained. Several reads: for listings and administrative checks, not for per-request decisions.
     */
    const grantsOf = (user: Pick<M.User, "id" | "appId">, orgId: OrganizationId | null = null) =>
      Effect.map(
        Effect.all([
          rbac.listUserRoles(user.id, orgId ?? undefined),
          rbac.listRoles(user.appId),
          rbac.listAppPermissions(user.appId),
        ]),
        ([assignments, roles, permissions]): Array<Grant> =>
          effectiveGrants(
            assignments
              .filter((assignment) => assignment.orgId === null || assignment.orgId === orgId)
              .map((assignment) => assignment.roleId),
            roles,
            permissions,
          ),
      )

    /**
     * Fails with `Forbidden` unless the actor holds (app-wide, and within the key's scopes when acting through one)
     * every permission in `wanted`: nobody hands out more than they have.
     */
    const ensureHoldsAll = (
      actor: M.User,
      scopes: ReadonlyArray<string> | undefined,
      wanted: ReadonlyArray<PermissionName>,
    ) =>
      Effect.flatMap(grantsOf(actor), (grants) => {
        const missing = wanted.find(
          (permission) =>
            findGrant(grants, permission) === undefined ||
            (scopes !== undefined && scopes.length > 0 && !scopesCover(scopes, permission)),
        )
        return missing === undefined
          ? Effect.void
          : Effect.fail(
              new Forbidden({
                message: `missing permission ${formatPermission(missing)}: only what you hold can be given`,
              }),
            )
      })

    /**
     * Every new user gets the built-in role `user`; the first user of the platform app also gets `owner` (every
     * permission). Call in the sign-up's transaction, whatever the sign-in method.
     */
    const assignInitialRoles = (user: M.User, client: ClientContext) =>
      Effect.gen(function* () {
        const at = new Date(yield* Clock.currentTimeMillis)
        const first = client.app.isPlatform && (yield* users.count(client.app.id)) === 1
        for (const slug of first ? ["user", "owner"] : ["user"]) {
          const role = yield* Effect.option(rbac.getRoleBySlug(client.app.id, slug))
          if (Option.isNone(role)) continue
          // Its own savepoint: a duplicate must not abort the caller's transaction.
          yield* store
            .transaction(
              rbac.assign({
                appId: client.app.id,
                userId: user.id,
                roleId: role.value.id,
                orgId: null,
                assignedAt: at,
              }),
            )
            .pipe(Effect.catchTag("Conflict", () => Effect.void))
        }
      })

    return { check, ensure, ensureRoute, grantsOf, ensureHoldsAll, assignInitialRoles } as const
  }),
}) {}
