/**
 * Permissions are `resource:action` strings; `*` in a granted permission matches any resource or action. A role
 * grants its own permissions and every permission of its parent chain. These pure rules are shared by the memory
 * store and the services (the PostgreSQL store states the same rules in SQL).
 */
import type * as M from "./models.js"

export interface PermissionName {
  readonly resource: string
  readonly action: string
}

const part = /^(\*|[a-z0-9][a-z0-9_.-]{0,63})$/

/** `resource:action`, each part `*` or a lower-case name; `undefined` for anything else. */
export const parsePermission = (value: string): PermissionName | undefined => {
  const at = value.indexOf(":")
  if (at === -1) return undefined
  const resource = value.slice(0, at)
  const action = value.slice(at + 1)
  return part.test(resource) && part.test(action) ? { resource, action } : undefined
}

export const isPermissionPart = (value: string) => part.test(value)

export const formatPermission = (permission: PermissionName) => `${permission.resource}:${permission.action}`

/**
 * Whether a granted permission covers the wanted one. `*` is a wildcard only on the granted side: wanting `role:*`
 * needs a grant of `role:*` (or `*:*`), not just `role:read`.
 */
export const covers = (granted: PermissionName, wanted: PermissionName) =>
  (granted.resource === "*" || granted.resource === wanted.resource) &&
  (granted.action === "*" || granted.action === wanted.action)

/** 0 for an exact permission, 1 with one wildcard, 2 for `*:*`: lower explains a decision better. */
export const wildcards = (permission: PermissionName) =>
  (permission.resource === "*" ? 1 : 0) + (permission.action === "*" ? 1 : 0)

/** A permission a user holds, with the role that grants it and how far up the assigned role's chain that role is. */
export interface Grant {
  readonly permission: M.Permission
  readonly role: M.Role
  /** 0 when the role itself is assigned, 1 for its parent, ... */
  readonly depth: number
}

/**
 * The order in which grants explain a decision: the nearest role first, then the most specific permission, then the
 * role's slug — so the answer never depends on row order.
 */
export const grantOrder = (a: Grant, b: Grant) =>
  a.depth - b.depth ||
  wildcards(a.permission) - wildcards(b.permission) ||
  (a.role.slug < b.role.slug ? -1 : a.role.slug > b.role.slug ? 1 : 0) ||
  (a.permission.id < b.permission.id ? -1 : a.permission.id > b.permission.id ? 1 : 0)

/**
 * Every grant of the assigned roles through their parent chains, in `grantOrder`. A role reached twice counts at
 * its smallest depth; a cycle in the data ends the walk instead of looping.
 */
export const effectiveGrants = (
  assignedRoleIds: Iterable<string>,
  roles: ReadonlyArray<M.Role>,
  permissions: ReadonlyArray<M.Permission>,
): Array<Grant> => {
  const byId = new Map(roles.map((role) => [role.id as string, role]))
  const depthOf = new Map<string, number>()
  for (const assigned of assignedRoleIds) {
    let role = byId.get(assigned)
    const seen = new Set<string>()
    for (let depth = 0; role !== undefined && !seen.has(role.id); depth++) {
      seen.add(role.id)
      depthOf.set(role.id, Math.min(depthOf.get(role.id) ?? depth, depth))
      role = role.parentId === null ? undefined : byId.get(role.parentId)
    }
  }
  const grants: Array<Grant> = []
  for (const permission of permissions) {
    const depth = depthOf.get(permission.roleId)
    if (depth !== undefined) grants.push({ permission, role: byId.get(permission.roleId)!, depth })
  }
  return grants.sort(grantOrder)
}

/** The first grant (in `grantOrder`) covering `wanted`. */
export const findGrant = (grants: ReadonlyArray<Grant>, wanted: PermissionName) =>
  grants.find((grant) => covers(grant.permission, wanted))

/** Whether some scope of an API key covers `wanted`. */
export const scopesCover = (scopes: ReadonlyArray<string>, wanted: PermissionName) =>
  scopes.some((scope) => {
    const parsed = parsePermission(scope)
    return parsed !== undefined && covers(parsed, wanted)
  })
