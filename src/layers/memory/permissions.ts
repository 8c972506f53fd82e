/** The memory stores' permission check, shared by `RbacStore.resolvePermission` and the session lookup with one. */
import { effectiveGrants, findGrant } from "../../domain/permissions.js"
import type { PermissionQuery, ResolvedPermission } from "../../services/store/platform.js"
import type { Database } from "./database.js"

export const resolvePermissionIn = (
  db: Database,
  { appId, userId, orgId, resource, action }: PermissionQuery,
): ResolvedPermission | undefined => {
  const assigned = db.select(
    "userRoles",
    (assignment) =>
      assignment.userId === userId &&
      assignment.appId === appId &&
      (assignment.orgId === null || assignment.orgId === orgId),
  )
  const grants = effectiveGrants(
    assigned.map((assignment) => assignment.roleId),
    db.select("roles", (role) => role.appId === appId),
    db.select("permissions", (permission) => permission.appId === appId),
  )
  const grant = findGrant(grants, { resource, action })
  return (
    grant && {
      roleId: grant.role.id,
      roleSlug: grant.role.slug,
      resource: grant.permission.resource,
      action: grant.permission.action,
      depth: grant.depth,
    }
  )
}
