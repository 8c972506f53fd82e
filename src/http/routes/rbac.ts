/**
 * RBAC routes (http-api.md §5): roles, their permissions and assignments, a user's roles and permissions, and
 * `POST /authorize`. Writes need `role:*`, reads `role:read` (checked by the pipeline from `requires`).
 */
import { Effect, Schema } from "effect"
import { InvalidRequest } from "../../domain/errors.js"
import { isId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import { isPermissionPart, parsePermission, type PermissionName } from "../../domain/permissions.js"
import { json, status } from "../../plugin/kit.js"
import { type Authenticated, sessionRoute } from "../../plugin/route.js"
import { Authorization, type Decision } from "../../services/authorization.js"
import { type Actor, Roles } from "../../services/roles.js"
import { StatusJson } from "../schemas.js"

const Timestamp = Schema.String.annotations({ format: "date-time" })

export const RoleJson = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  name: Schema.String,
  slug: Schema.String,
  description: Schema.NullOr(Schema.String),
  parent_id: Schema.NullOr(Schema.String),
  built_in: Schema.Boolean,
  created_at: Timestamp,
}).annotations({ identifier: "Role" })

export const PermissionJson = Schema.Struct({
  id: Schema.String,
  role_id: Schema.String,
  resource: Schema.String,
  action: Schema.String,
}).annotations({ identifier: "Permission" })

const HeldRoleJson = Schema.Struct({
  ...RoleJson.fields,
  org_id: Schema.NullOr(Schema.String),
  assigned_at: Timestamp,
}).annotations({ identifier: "HeldRole" })

const GrantJson = Schema.Struct({
  ...PermissionJson.fields,
  via_role: Schema.String.annotations({ description: "the slug of the role holding it" }),
}).annotations({ identifier: "EffectivePermission" })

const AssignmentJson = Schema.Struct({
  user_id: Schema.String,
  role_id: Schema.String,
  org_id: Schema.NullOr(Schema.String),
  assigned_at: Timestamp,
}).annotations({ identifier: "RoleAssignment" })

const DecisionJson = Schema.Struct({
  allowed: Schema.Boolean,
  via_role: Schema.optional(Schema.String),
}).annotations({ identifier: "AuthorizationDecision" })

const roleJson = (role: M.Role): typeof RoleJson.Type => ({
  id: role.id,
  app_id: role.appId,
  name: role.name,
  slug: role.slug,
  description: role.description,
  parent_id: role.parentId,
  built_in: role.builtIn,
  created_at: role.createdAt.toISOString(),
})

const permissionJson = (permission: M.Permission): typeof PermissionJson.Type => ({
  id: permission.id,
  role_id: permission.roleId,
  resource: permission.resource,
  action: permission.action,
})

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100))
const Description = Schema.NullOr(Schema.String.pipe(Schema.maxLength(1000)))
const Slug = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: () => "must be lower-case letters, digits, - and _" }),
)
const Id = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))
const Part = Schema.String.pipe(Schema.filter((value) => isPermissionPart(value) || "must be `*` or a lower-case name"))

const PermissionBody = Schema.Union(
  Schema.Struct({ resource: Part, action: Part }),
  Schema.Struct({
    permission: Schema.String.pipe(
      Schema.filter((value) => parsePermission(value) !== undefined || "expected resource:action"),
    ),
  }),
)

const AssignBody = Schema.Struct({ user_id: Id, org_id: Schema.optional(Schema.NullOr(Id)) })

const actorOf = (auth: Authenticated): Actor => ({ user: auth.user, scopes: auth.apiKey?.scopes })

const permissionOf = (body: typeof PermissionBody.Type): PermissionName =>
  "permission" in body ? parsePermission(body.permission)! : body

export const rbacRoutes = Effect.gen(function* () {
  const roles = yield* Roles
  const authorization = yield* Authorization

  const create = sessionRoute({
    method: "POST",
    path: "/roles",
    tag: "RBAC",
    summary: "Create a role (it inherits every permission of its parent chain)",
    requires: "role:*",
    body: Schema.Struct({
      name: Name,
      slug: Slug,
      description: Schema.optional(Description),
      parent_id: Schema.optional(Schema.NullOr(Id)),
    }),
    responses: { 201: { description: "the role", schema: RoleJson } },
    handler: (request) =>
      Effect.map(
        roles.createRole(actorOf(request.auth), request.client, {
          name: request.body.name,
          slug: request.body.slug,
          description: request.body.description,
          parentId: request.body.parent_id,
        }),
        (role) => json(201, roleJson(role)),
      ),
  })

  const list = sessionRoute({
    method: "GET",
    path: "/roles",
    tag: "RBAC",
    summary: "The app's roles, oldest first",
    requires: "role:read",
    responses: { 200: { description: "roles", schema: Schema.Struct({ roles: Schema.Array(RoleJson) }) } },
    handler: (request) => Effect.map(roles.listRoles(request.client), (all) => json(200, { roles: all.map(roleJson) })),
  })

  const get = sessionRoute({
    method: "GET",
    path: "/roles/:id",
    tag: "RBAC",
    summary: "One role",
    requires: "role:read",
    responses: { 200: { description: "the role", schema: RoleJson } },
    handler: (request) =>
      Effect.map(roles.getRole(request.client, request.params["id"] ?? ""), (role) => json(200, roleJson(role))),
  })

  const update = sessionRoute({
    method: "PATCH",
    path: "/roles/:id",
    tag: "RBAC",
    summary: "Rename, describe or re-parent a role (a parent that makes a cycle is 409 `conflict`)",
    requires: "role:*",
    body: Schema.Struct({
      name: Schema.optional(Name),
      description: Schema.optional(Description),
      parent_id: Schema.optional(Schema.NullOr(Id)),
    }),
    responses: { 200: { description: "the role", schema: RoleJson } },
    handler: (request) =>
      Effect.map(
        roles.updateRole(actorOf(request.auth), request.client, request.params["id"] ?? "", {
          name: request.body.name,
          description: request.body.description,
          parentId: request.body.parent_id,
        }),
        (role) => json(200, roleJson(role)),
      ),
  })

  const remove = sessionRoute({
    method: "DELETE",
    path: "/roles/:id",
    tag: "RBAC",
    summary: "Delete a role: its permissions and assignments go, its children lose their parent",
    description: "Built-in roles (`user`, `admin`, `owner`) cannot be deleted (409 `conflict`).",
    requires: "role:*",
    responses: { 200: { description: "deleted", schema: StatusJson } },
    handler: (request) =>
      Effect.as(roles.deleteRole(actorOf(request.auth), request.client, request.params["id"] ?? ""), status("deleted")),
  })

  const addPermission = sessionRoute({
    method: "POST",
    path: "/roles/:id/permissions",
    tag: "RBAC",
    summary: 'Give a role a permission: `{resource, action}` or `{permission: "resource:action"}`',
    description: "`*` matches any resource or action. Only a permission the caller holds can be given.",
    requires: "role:*",
    body: PermissionBody,
    responses: { 201: { description: "the permission", schema: PermissionJson } },
    handler: (request) =>
      Effect.map(
        roles.addPermission(
          actorOf(request.auth),
          request.client,
          request.params["id"] ?? "",
          permissionOf(request.body),
        ),
        (permission) => json(201, permissionJson(permission)),
      ),
  })

  const listPermissions = sessionRoute({
    method: "GET",
    path: "/roles/:id/permissions",
    tag: "RBAC",
    summary: "A role's own permissions (not the inherited ones)",
    requires: "role:read",
    responses: {
      200: { description: "permissions", schema: Schema.Struct({ permissions: Schema.Array(PermissionJson) }) },
    },
    handler: (request) =>
      Effect.map(roles.listPermissions(request.client, request.params["id"] ?? ""), (all) =>
        json(200, { permissions: all.map(permissionJson) }),
      ),
  })

  const removePermission = sessionRoute({
    method: "DELETE",
    path: "/roles/:id/permissions/:permissionId",
    tag: "RBAC",
    summary: "Take a permission from a role",
    requires: "role:*",
    responses: { 200: { description: "removed", schema: StatusJson } },
    handler: (request) =>
      Effect.as(
        roles.removePermission(
          actorOf(request.auth),
          request.client,
          request.params["id"] ?? "",
          request.params["permissionId"] ?? "",
        ),
        status("removed"),
      ),
  })

  const assign = sessionRoute({
    method: "POST",
    path: "/roles/:id/assign",
    tag: "RBAC",
    summary: "Assign a role to a user, app-wide or (`org_id`) within one of their organizations",
    description: "Only a role whose whole permission chain the caller holds can be assigned.",
    requires: "role:*",
    body: AssignBody,
    responses: { 201: { description: "the assignment", schema: AssignmentJson } },
    handler: (request) =>
      Effect.map(
        roles.assign(
          actorOf(request.auth),
          request.client,
          request.params["id"] ?? "",
          request.body.user_id,
          request.body.org_id ?? null,
        ),
        (assignment) =>
          json(201, {
            user_id: assignment.userId,
            role_id: assignment.roleId,
            org_id: assignment.orgId,
            assigned_at: assignment.assignedAt.toISOString(),
          }),
      ),
  })

  const unassign = sessionRoute({
    method: "POST",
    path: "/roles/:id/unassign",
    tag: "RBAC",
    summary: "Remove a role from a user (app-wide, or within `org_id`)",
    requires: "role:*",
    body: AssignBody,
    responses: { 200: { description: "unassigned", schema: StatusJson } },
    handler: (request) =>
      Effect.as(
        roles.unassign(
          actorOf(request.auth),
          request.client,
          request.params["id"] ?? "",
          request.body.user_id,
          request.body.org_id ?? null,
        ),
        status("unassigned"),
      ),
  })

  const userRoles = sessionRoute({
    method: "GET",
    path: "/users/:userId/roles",
    tag: "RBAC",
    summary: "The roles a user holds, app-wide and per organization",
    requires: "role:read",
    responses: { 200: { description: "roles", schema: Schema.Struct({ roles: Schema.Array(HeldRoleJson) }) } },
    handler: (request) =>
      Effect.map(roles.rolesOfUser(request.client, request.params["userId"] ?? ""), (held) =>
        json(200, {
          roles: held.map(({ role, orgId, assignedAt }) => ({
            ...roleJson(role),
            org_id: orgId,
            assigned_at: assignedAt.toISOString(),
          })),
        }),
      ),
  })

  const userPermissions = sessionRoute({
    method: "GET",
    path: "/users/:userId/permissions",
    tag: "RBAC",
    summary: "Every permission a user holds, inherited ones included, each with the role holding it",
    description: "App-wide roles; with `?org_id=` also the user's roles in that organization.",
    requires: "role:read",
    responses: {
      200: { description: "permissions", schema: Schema.Struct({ permissions: Schema.Array(GrantJson) }) },
    },
    handler: (request) =>
      Effect.map(
        roles.permissionsOfUser(
          request.client,
          request.params["userId"] ?? "",
          request.query.get("org_id") ?? undefined,
        ),
        (grants) =>
          json(200, {
            permissions: grants.map((grant) => ({ ...permissionJson(grant.permission), via_role: grant.role.slug })),
          }),
      ),
  })

  const decisionJson = (decision: Decision) =>
    json(200, decision.allowed ? { allowed: true, via_role: decision.viaRole } : { allowed: false })

  const authorize = sessionRoute({
    method: "POST",
    path: "/authorize",
    tag: "RBAC",
    summary: "May this user do `action` on `resource`? Explains the answer with the granting role",
    description:
      "Checks the caller, or `user_id` (which needs `role:read`). App-wide roles count, plus the roles in `org_id` " +
      "when given. `via_role` is the slug of the role whose permission granted it: the nearest in the role chain, " +
      "then the most specific permission.",
    body: Schema.Struct({
      user_id: Schema.optional(Id),
      action: Part,
      resource: Part,
      org_id: Schema.optional(Schema.NullOr(Id)),
    }),
    responses: { 200: { description: "the decision", schema: DecisionJson } },
    // The caller's own check (no `user_id`; a valid `org_id`) is decided with its session lookup: one round trip.
    callerPermission: (body) =>
      body.user_id === undefined && (!body.org_id || isId("organization", body.org_id))
        ? {
            resource: body.resource,
            action: body.action,
            orgId: (body.org_id ?? null) as M.Organization["id"] | null,
          }
        : undefined,
    // Every caller's own check comes through here: flatMap chains rather than a generator.
    handler: ({ auth, body, client }) => {
      if (body.org_id && !isId("organization", body.org_id)) {
        return Effect.fail(
          new InvalidRequest({
            message: "invalid org_id",
            details: [{ path: "org_id", message: "expected an organization id" }],
          }),
        )
      }
      const self = body.user_id === undefined || body.user_id === auth.user.id
      if (self && auth.apiKey === null && auth.permission !== undefined)
        return Effect.succeed(decisionJson(auth.permission))
      const subject = self
        ? Effect.succeed(auth.user.id)
        : Effect.zipRight(
            authorization.ensure({
              userId: auth.user.id,
              appId: client.app.id,
              resource: "role",
              action: "read",
              scopes: auth.apiKey?.scopes,
            }),
            Effect.map(roles.userOfApp(client, body.user_id), (user) => user.id),
          )
      return Effect.flatMap(subject, (userId) =>
        Effect.map(
          authorization.check({
            userId,
            appId: client.app.id,
            orgId: (body.org_id ?? null) as M.Organization["id"] | null,
            resource: body.resource,
            action: body.action,
          }),
          decisionJson,
        ),
      )
    },
  })

  return [
    create,
    list,
    get,
    update,
    remove,
    addPermission,
    listPermissions,
    removePermission,
    assign,
    unassign,
    userRoles,
    userPermissions,
    authorize,
  ]
})
