/**
 * The permission check's SQL, shared by `RbacStore.resolvePermission` and `SessionStore.findByTokenHashWithPermission`:
 * the walk up the user's role chains to the nearest granting permission. The chain carries each role's slug and
 * parent, so the walk is one index lookup per level. Cycles cannot be written (`updateRole`); the depth bound keeps a
 * cycle in the data from running away all the same.
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
  sql`WITH RECURSIVE chain(role_id, slug, parent_id, depth) AS (
        SELECT r.id, r.slug, r.parent_id, 0
        FROM authsome_user_roles ur JOIN authsome_roles r ON r.id = ur.role_id
        WHERE ur.user_id = ${userId} AND ur.app_id = ${appId} AND (ur.org_id IS NULL OR ur.org_id = ${orgId})
        UNION ALL
        SELECT r.id, r.slug, r.parent_id, c.depth + 1
        FROM chain c JOIN authsome_roles r ON r.id = c.parent_id
        WHERE c.depth < 32
      )
      SELECT c.role_id, c.slug AS role_slug, p.resource, p.action, c.depth
      FROM chain c JOIN authsome_permissions p ON p.role_id = c.role_id
      WHERE (p.resource = ${resource} OR p.resource = '*') AND (p.action = ${action} OR p.action = '*')
      ORDER BY c.depth, (p.resource = '*')::int + (p.action = '*')::int, c.slug COLLATE "C", p.id COLLATE "C"
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
