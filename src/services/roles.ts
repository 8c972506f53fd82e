/**
 * Role administration (http-api.md §5, RBAC): roles, their permissions and their assignments, within the caller's
 * app. Who may call these is the routes' `requires`; on top of it nobody hands out a permission they do not hold
 * (adding a permission, choosing a parent, assigning a role), so `role:*` alone cannot be turned into `*:*`.
 * Every change is recorded through `Events` in its transaction.
 */
import { Clock, Effect } from "effect"
import { Conflict, InvalidRequest, NotFound } from "../domain/errors.js"
import { isId, newId, type OrganizationId, type PermissionId, type RoleId, type UserId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import { effectiveGrants, type PermissionName } from "../domain/permissions.js"
import { Authorization } from "./authorization.js"
import type { ClientContext } from "./context.js"
import { Events } from "./events.js"
import { MemberStore, OrganizationStore, RbacStore, type RolePatch, Store, UserStore } from "./store/index.js"

/** Who makes a change: the signed-in user, and the scopes of the API key they act through (if any). */
export interface Actor {
  readonly user: M.User
  readonly scopes?: ReadonlyArray<string> | undefined
}

export interface NewRole {
  readonly name: string
  readonly slug: string
  readonly description?: string | null | undefined
  readonly parentId?: string | null | undefined
}

export interface RoleChanges {
  readonly name?: string | undefined
  readonly description?: string | null | undefined
  readonly parentId?: string | null | undefined
}

/** A role the user holds, app-wide (`orgId` null) or in one organization. */
export interface HeldRole {
  readonly role: M.Role
  readonly orgId: OrganizationId | null
  readonly assignedAt: Date
}

const roleNotFound = () => new NotFound({ entity: "role" })

export class Roles extends Effect.Service<Roles>()("authsome/Roles", {
  effect: Effect.gen(function* () {
    const store = yield* Store
    const rbac = yield* RbacStore
    const users = yield* UserStore
    const orgs = yield* OrganizationStore
    const members = yield* MemberStore
    const authorization = yield* Authorization
    const events = yield* Events
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    /** A role of the caller's app; anything else (another app's, a malformed id) is `NotFound`. */
    const getRole = (client: ClientContext, id: string) =>
      isId("role", id)
        ? rbac
            .getRole(id as RoleId)
            .pipe(
              Effect.flatMap((role) =>
                role.appId === client.app.id ? Effect.succeed(role) : Effect.fail(roleNotFound()),
              ),
            )
        : Effect.fail(roleNotFound())

    const userOfApp = (client: ClientContext, id: string) =>
      (isId("user", id) ? users.get(id as UserId) : Effect.fail(new NotFound({ entity: "user" }))).pipe(
        Effect.filterOrFail(
          (user) => user.appId === client.app.id,
          () => new NotFound({ entity: "user" }),
        ),
      )

    /** The role's permissions and its whole parent chain's. */
    const chainPermissions = (role: M.Role) =>
      Effect.map(
        Effect.all([rbac.listRoles(role.appId), rbac.listAppPermissions(role.appId)]),
        ([roles, permissions]): Array<PermissionName> =>
          effectiveGrants([role.id], roles, permissions).map((grant) => grant.permission),
      )

    /** The new parent: a role of this app whose whole chain the actor holds. */
    const checkedParent = (actor: Actor, client: ClientContext, parentId: string) =>
      Effect.tap(getRole(client, parentId), (parent) =>
        Effect.flatMap(chainPermissions(parent), (wanted) =>
          authorization.ensureHoldsAll(actor.user, actor.scopes, wanted),
        ),
      )

    const listRoles = (client: ClientContext) => rbac.listRoles(client.app.id)

    const createRole = (actor: Actor, client: ClientContext, input: NewRole) =>
      Effect.gen(function* () {
        const parent = input.parentId ? yield* checkedParent(actor, client, input.parentId) : null
        const at = yield* now
        return yield* store.transaction(
          Effect.gen(function* () {
            const role = yield* rbac.createRole({
              id: newId.role(),
              appId: client.app.id,
              parentId: parent?.id ?? null,
              name: input.name,
              slug: input.slug,
              description: input.description ?? null,
              builtIn: false,
              createdAt: at,
              updatedAt: at,
            })
            yield* events.emit(client, {
              type: "role.created",
              actorId: actor.user.id,
              metadata: { role_id: role.id, slug: role.slug, parent_id: role.parentId },
            })
            return role
          }),
        )
      })

    /** A new `parentId` that would make a cycle is a `Conflict`. */
    const updateRole = (actor: Actor, client: ClientContext, id: string, changes: RoleChanges) =>
      Effect.gen(function* () {
        const role = yield* getRole(client, id)
        const patch: { -readonly [K in keyof RolePatch]: RolePatch[K] } = {}
        if (changes.name !== undefined) patch.name = changes.name
        if (changes.description !== undefined) patch.description = changes.description
        if (changes.parentId !== undefined) {
          patch.parentId = changes.parentId === null ? null : (yield* checkedParent(actor, client, changes.parentId)).id
        }
        return yield* store.transaction(
          Effect.gen(function* () {
            const updated = yield* rbac.updateRole(role.id, patch, yield* now)
            yield* events.emit(client, {
              type: "role.updated",
              actorId: actor.user.id,
              metadata: { role_id: role.id, fields: Object.keys(patch) },
            })
            return updated
          }),
        )
      })

    /** Built-in roles stay (sign-up and the first administrator rely on them): `Conflict`. */
    const deleteRole = (actor: Actor, client: ClientContext, id: string) =>
      Effect.gen(function* () {
        const role = yield* getRole(client, id)
        if (role.builtIn) return yield* new Conflict({ message: "built-in roles cannot be deleted" })
        yield* store.transaction(
          Effect.zipRight(
            rbac.deleteRole(role.id),
            events.emit(client, {
              type: "role.deleted",
              actorId: actor.user.id,
              metadata: { role_id: role.id, slug: role.slug },
            }),
          ),
        )
      })

    const listPermissions = (client: ClientContext, roleId: string) =>
      Effect.flatMap(getRole(client, roleId), (role) => rbac.listPermissions(role.id))

    /** The role gets `resource:action`; the actor must hold it. A duplicate is a `Conflict`. */
    const addPermission = (actor: Actor, client: ClientContext, roleId: string, permission: PermissionName) =>
      Effect.gen(function* () {
        const role = yield* getRole(client, roleId)
        yield* authorization.ensureHoldsAll(actor.user, actor.scopes, [permission])
        const at = yield* now
        return yield* store.transaction(
          Effect.gen(function* () {
            const added = yield* rbac.addPermission({
              id: newId.permission(),
              appId: client.app.id,
              roleId: role.id,
              resource: permission.resource,
              action: permission.action,
              createdAt: at,
            })
            yield* events.emit(client, {
              type: "role.permission_added",
              actorId: actor.user.id,
              metadata: { role_id: role.id, permission: `${added.resource}:${added.action}` },
            })
            return added
          }),
        )
      })

    const removePermission = (actor: Actor, client: ClientContext, roleId: string, permissionId: string) =>
      Effect.gen(function* () {
        const role = yield* getRole(client, roleId)
        if (!isId("permission", permissionId)) return yield* new NotFound({ entity: "permission" })
        yield* store.transaction(
          Effect.zipRight(
            rbac.removePermission(role.id, permissionId as PermissionId),
            events.emit(client, {
              type: "role.permission_removed",
              actorId: actor.user.id,
              metadata: { role_id: role.id, permission_id: permissionId },
            }),
          ),
        )
      })

    /** An organization of this app that `user` is a member of (org-scoped roles are for members). */
    const orgOfMember = (client: ClientContext, user: M.User, orgId: string) =>
      Effect.gen(function* () {
        const org = yield* (
          isId("organization", orgId)
            ? orgs.get(orgId as OrganizationId)
            : Effect.fail(new NotFound({ entity: "organization" }))
        ).pipe(
          Effect.filterOrFail(
            (org) => org.appId === client.app.id,
            () => new NotFound({ entity: "organization" }),
          ),
        )
        yield* members.getByUserAndOrg(user.id, org.id).pipe(
          Effect.mapError(
            () =>
              new InvalidRequest({
                message: "the user is not a member of the organization",
                details: [{ path: "org_id", message: "the user is not a member of this organization" }],
              }),
          ),
        )
        return org
      })

    /** Assigns the role (and so its whole chain, which the actor must hold). Twice is a `Conflict`. */
    const assign = (actor: Actor, client: ClientContext, roleId: string, userId: string, orgId: string | null) =>
      Effect.gen(function* () {
        const role = yield* getRole(client, roleId)
        const user = yield* userOfApp(client, userId)
        const org = orgId === null ? null : yield* orgOfMember(client, user, orgId)
        yield* authorization.ensureHoldsAll(actor.user, actor.scopes, yield* chainPermissions(role))
        const at = yield* now
        return yield* store.transaction(
          Effect.gen(function* () {
            const assignment = yield* rbac.assign({
              appId: client.app.id,
              userId: user.id,
              roleId: role.id,
              orgId: org?.id ?? null,
              assignedAt: at,
            })
            yield* events.emit(client, {
              type: "role.assigned",
              userId: user.id,
              actorId: actor.user.id,
              metadata: { role_id: role.id, slug: role.slug, org_id: assignment.orgId },
            })
            return assignment
          }),
        )
      })

    const unassign = (actor: Actor, client: ClientContext, roleId: string, userId: string, orgId: string | null) =>
      Effect.gen(function* () {
        const role = yield* getRole(client, roleId)
        const user = yield* userOfApp(client, userId)
        if (orgId !== null && !isId("organization", orgId)) return yield* new NotFound({ entity: "user_role" })
        yield* store.transaction(
          Effect.zipRight(
            rbac.unassign(user.id, role.id, orgId as OrganizationId | null),
            events.emit(client, {
              type: "role.unassigned",
              userId: user.id,
              actorId: actor.user.id,
              metadata: { role_id: role.id, slug: role.slug, org_id: orgId },
            }),
          ),
        )
      })

    /** The roles the user holds, app-wide and in organizations, oldest assignment first. */
    const rolesOfUser = (client: ClientContext, userId: string) =>
      Effect.gen(function* () {
        const user = yield* userOfApp(client, userId)
        const [assignments, roles] = yield* Effect.all([rbac.listUserRoles(user.id), rbac.listRoles(client.app.id)])
        const byId = new Map(roles.map((role) => [role.id, role]))
        return assignments.flatMap((assignment): Array<HeldRole> => {
          const role = byId.get(assignment.roleId)
          return role ? [{ role, orgId: assignment.orgId, assignedAt: assignment.assignedAt }] : []
        })
      })

    /** Every permission the user holds (app-wide, plus `orgId`'s roles), inherited ones included, with their roles. */
    const permissionsOfUser = (client: ClientContext, userId: string, orgId: string | undefined) =>
      Effect.gen(function* () {
        const user = yield* userOfApp(client, userId)
        const org = orgId === undefined ? null : yield* orgOfMember(client, user, orgId)
        return yield* authorization.grantsOf(user, org?.id ?? null)
      })

    return {
      getRole,
      listRoles,
      createRole,
      updateRole,
      deleteRole,
      listPermissions,
      addPermission,
      removePermission,
      assign,
      unassign,
      rolesOfUser,
      permissionsOfUser,
      userOfApp,
    } as const
  }),
}) {}
