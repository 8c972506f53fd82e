/**
 * The permission check's SQL, shared by `RbacStore.resolvePermission` and `SessionStore.findByTokenHashWithPermission`:
 * the nearest granting permission of the roles the user holds, read from their grants with their ancestors'
 * (`authsome_role_grants`, kept by triggers: migration 16), one index lookup per role held.
 */
import type * as Id from "../../domain/ids.js"
import type { ResolvedPermission } from "../../services/store/platform.js"
import type * as Sql from "./sql.js"

/** At most one row (`role_id, role_slug, resource, action, depth`); `userId` a value or a column of an outer query. */
export const grantingPermission = (
  sql: Sql.Client,
  userId: string | Sql.Fragment,
  appId: string,
  orgId: string | null,
  resource: string,
  action: string,
) =>
  sql`SELECT g.granting_role_id AS role_id, g.granting_role_slug AS role_slug, g.resource, g.action, g.depth
      FROM authsome_user_roles ur
      JOIN authsome_role_grants g ON g.app_id = ur.app_id AND g.role_id = ur.role_id
      WHERE ur.user_id = ${userId} AND ur.app_id = ${appId} AND (ur.org_id IS NULL OR ur.org_id = ${orgId})
        AND (g.resource = ${resource} OR g.resource = '*') AND (g.action = ${action} OR g.action = '*')
      ORDER BY g.depth, (g.resource = '*')::int + (g.action = '*')::int, g.granting_role_slug COLLATE "C",
        g.permission_id COLLATE "C"
      LIMIT 1`

/** A row of `grantingPermission` (or of its PL/pgSQL function); a row without `role_id` granted nothing. */
export const decodeGrant = (row: Sql.Row): ResolvedPermission | undefined =>
  row["role_id"] === null || row["role_id"] === undefined
    ? undefined
    : {
        roleId: row["role_id"] as Id.RoleId,
        roleSlug: row["role_slug"] as string,
        resource: row["resource"] as string,
        action: row["action"] as string,
        depth: Number(row["depth"]),
      }
