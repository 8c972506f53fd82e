/**
 * The roles every new user gets (http-api.md §5): `user`, and `owner` too for the first user of the platform app.
 * The same rule as the password plugin's sign-up, for the plugins that create users on other sign-in paths (social,
 * magic link) until the core assigns initial roles itself.
 */
import { Effect, Option } from "effect"
import type * as M from "../domain/models.js"
import type { ClientContext } from "../services/context.js"
import { RbacStore, UserStore } from "../services/store/index.js"

/** Builds `assignInitialRoles(user, client, at)`; call it in the transaction that created `user`. */
export const initialRoleAssigner = Effect.gen(function* () {
  const users = yield* UserStore
  const rbac = yield* RbacStore
  return (user: M.User, client: ClientContext, at: Date) =>
    Effect.gen(function* () {
      const first = client.app.isPlatform && (yield* users.count(client.app.id)) === 1
      for (const slug of first ? ["user", "owner"] : ["user"]) {
        const role = yield* Effect.option(rbac.getRoleBySlug(client.app.id, slug))
        if (Option.isSome(role)) {
          yield* rbac
            .assign({ appId: client.app.id, userId: user.id, roleId: role.value.id, orgId: null, assignedAt: at })
            .pipe(Effect.catchTag("Conflict", () => Effect.void))
        }
      }
    })
})
