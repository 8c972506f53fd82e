/**
 * User administration (http-api.md §5 "Admin"): search, create (pre-verified), update, soft delete, ban and unban,
 * revoke sessions, impersonate, the audit log and the app's statistics — always within the caller's app. Who may
 * call is the routes' `requires` (`user:*`); on top of it an administrator acts only on users whose every permission
 * they hold themselves, so an `admin` can neither ban, delete nor become an `owner`. Every change is recorded through
 * `Events` in its transaction; a ban or deletion revokes the sessions in that same transaction, so every instance
 * refuses them from the next request.
 */
import { Clock, Duration, Effect } from "effect"
import { Conflict, Forbidden, InvalidRequest, NotFound, UserBanned } from "../domain/errors.js"
import { isId, newId, type UserId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import { Accounts } from "./accounts.js"
import { Authorization } from "./authorization.js"
import type { ClientContext } from "./context.js"
import { Events } from "./events.js"
import { PluginRegistry } from "./plugin-registry.js"
import type { Actor } from "./roles.js"
import { Sessions } from "./sessions.js"
import {
  AuditStore,
  type AuditQuery,
  OrganizationStore,
  SessionStore,
  Store,
  type UserPatch,
  UserStore,
} from "./store/index.js"

/** How long an impersonation session (and its refresh token) lasts. */
export const impersonationTtl = Duration.hours(1)

export interface NewUser {
  readonly email: string
  readonly password?: string | undefined
  readonly firstName?: string | null | undefined
  readonly lastName?: string | null | undefined
  readonly username?: string | null | undefined
  readonly image?: string | null | undefined
  readonly phone?: string | null | undefined
  readonly metadata?: M.Metadata | undefined
  /** Default true: an administrator vouches for the address. */
  readonly emailVerified?: boolean | undefined
}

export type UserChanges = Omit<UserPatch, "banned" | "banReason" | "banExpires">

export interface Ban {
  readonly reason?: string | null | undefined
  readonly expiresAt?: Date | null | undefined
}

export interface Stats {
  readonly users: number
  readonly activeSessions: number
  readonly organizations: number
}

const userNotFound = () => new NotFound({ entity: "user" })

export class Admin extends Effect.Service<Admin>()("authsome/Admin", {
  effect: Effect.gen(function* () {
    const store = yield* Store
    const users = yield* UserStore
    const sessionStore = yield* SessionStore
    const organizations = yield* OrganizationStore
    const auditEvents = yield* AuditStore
    const authorization = yield* Authorization
    const sessions = yield* Sessions
    const accounts = yield* Accounts
    const events = yield* Events
    const plugins = yield* PluginRegistry
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    /** A live user of the caller's app; anything else (another app's, deleted, a malformed id) is `NotFound`. */
    const userOfApp = (client: ClientContext, id: string) =>
      (isId("user", id) ? users.get(id as UserId) : Effect.fail(userNotFound())).pipe(
        Effect.filterOrFail(
          (user) => user.appId === client.app.id,
          () => userNotFound(),
        ),
      )

    /**
     * A user the actor may administer: not themselves (`self` says what is refused), and holding no permission the
     * actor lacks (so nobody acts on someone above them).
     */
    const subordinate = (actor: Actor, client: ClientContext, id: string, self: string) =>
      Effect.gen(function* () {
        const target = yield* userOfApp(client, id)
        if (target.id === actor.user.id) return yield* new Conflict({ message: `you cannot ${self} yourself` })
        const grants = yield* authorization.grantsOf(target)
        yield* authorization
          .ensureHoldsAll(
            actor.user,
            actor.scopes,
            grants.map((grant) => ({ resource: grant.permission.resource, action: grant.permission.action })),
          )
          .pipe(
            Effect.mapError(
              () => new Forbidden({ message: "the user holds permissions you do not: only an equal or higher can" }),
            ),
          )
        return target
      })

    const listUsers = (
      client: ClientContext,
      query: { emailPrefix?: string | undefined; cursor?: string | undefined; limit: number },
    ) => users.list(client.app.id, { emailPrefix: query.emailPrefix, cursor: query.cursor, limit: query.limit })

    const getUser = userOfApp

    /** A new account in the request's environment, verified unless told otherwise, with the `user` role. */
    const createUser = (actor: Actor, client: ClientContext, input: NewUser) =>
      Effect.gen(function* () {
        const writePassword =
          input.password === undefined
            ? undefined
            : yield* Effect.flatMap(plugins.hooks, (hooks) => {
                const prepare = hooks.find((hook) => hook.preparePassword)?.preparePassword
                return prepare
                  ? prepare(input.email, input.password!)
                  : Effect.fail(
                      new InvalidRequest({
                        message: "passwords are not enabled on this server",
                        details: [{ path: "password", message: "password sign-in is not mounted" }],
                      }),
                    )
              })
        const at = yield* now
        return yield* store.transaction(
          Effect.gen(function* () {
            const user = yield* users.create({
              id: newId.user(),
              appId: client.app.id,
              envId: client.env.id,
              email: input.email,
              emailVerified: input.emailVerified ?? true,
              firstName: input.firstName ?? null,
              lastName: input.lastName ?? null,
              image: input.image ?? null,
              username: input.username ?? null,
              phone: input.phone ?? null,
              banned: false,
              banReason: null,
              banExpires: null,
              metadata: input.metadata ?? null,
              createdAt: at,
              updatedAt: at,
              deletedAt: null,
            })
            if (writePassword) yield* writePassword(user)
            yield* authorization.assignInitialRoles(user, client)
            yield* events.userCreated(client, user, "admin", actor.user.id)
            return user
          }),
        )
      })

    const updateUser = (actor: Actor, client: ClientContext, id: string, changes: UserChanges) =>
      Effect.gen(function* () {
        const target = yield* userOfApp(client, id)
        if (target.id !== actor.user.id) yield* subordinate(actor, client, id, "update")
        return yield* store.transaction(
          Effect.gen(function* () {
            const updated = yield* users.update(target.id, changes, yield* now)
            yield* events.emit(client, {
              type: "user.updated",
              userId: target.id,
              actorId: actor.user.id,
              metadata: { fields: Object.keys(changes) },
            })
            return updated
          }),
        )
      })

    const deleteUser = (actor: Actor, client: ClientContext, id: string) =>
      Effect.flatMap(subordinate(actor, client, id, "delete"), (target) =>
        accounts.deleteAccount(target, client, actor.user.id),
      )

    /** Bans the user and revokes every session of theirs in the same transaction. */
    const ban = (actor: Actor, client: ClientContext, id: string, input: Ban) =>
      Effect.gen(function* () {
        const target = yield* subordinate(actor, client, id, "ban")
        const at = yield* now
        if (input.expiresAt && input.expiresAt.getTime() <= at.getTime()) {
          return yield* new InvalidRequest({
            message: "the ban would already be over",
            details: [{ path: "expires_at", message: "must be in the future" }],
          })
        }
        return yield* store.transaction(
          Effect.gen(function* () {
            const banned = yield* users.update(
              target.id,
              { banned: true, banReason: input.reason ?? null, banExpires: input.expiresAt ?? null },
              at,
            )
            const revoked = yield* sessionStore.deleteByUser(target.id)
            yield* events.emit(client, {
              type: "user.banned",
              userId: target.id,
              actorId: actor.user.id,
              reason: input.reason ?? null,
              metadata: { expires_at: input.expiresAt?.toISOString() ?? null, sessions_revoked: revoked },
            })
            if (revoked > 0) {
              yield* events.emit(client, {
                type: "session.revoked",
                userId: target.id,
                actorId: actor.user.id,
                metadata: { revoked, scope: "all", reason: "banned" },
              })
            }
            return banned
          }),
        )
      })

    const unban = (actor: Actor, client: ClientContext, id: string) =>
      Effect.gen(function* () {
        const target = yield* subordinate(actor, client, id, "unban")
        return yield* store.transaction(
          Effect.gen(function* () {
            const unbanned = yield* users.update(
              target.id,
              { banned: false, banReason: null, banExpires: null },
              yield* now,
            )
            yield* events.emit(client, { type: "user.unbanned", userId: target.id, actorId: actor.user.id })
            return unbanned
          }),
        )
      })

    /** Revokes every session of the user; returns how many went. */
    const revokeSessions = (actor: Actor, client: ClientContext, id: string) =>
      Effect.gen(function* () {
        const target = yield* subordinate(actor, client, id, "sign out")
        return yield* store.transaction(
          Effect.tap(sessionStore.deleteByUser(target.id), (revoked) =>
            events.emit(client, {
              type: "session.revoked",
              userId: target.id,
              actorId: actor.user.id,
              metadata: { revoked, scope: "all", reason: "admin" },
            }),
          ),
        )
      })

    /**
     * A session of the user for the administrator (1 hour, `impersonated_by` set, its start audited with the
     * administrator as actor). Not from an impersonation session (no chains), not of a banned user.
     */
    const impersonate = (actor: Actor, session: M.Session, client: ClientContext, id: string) =>
      Effect.gen(function* () {
        if (session.impersonatedBy) {
          return yield* new Forbidden({ message: "an impersonation session cannot impersonate" })
        }
        const target = yield* subordinate(actor, client, id, "impersonate")
        const at = yield* now
        if (target.banned && (target.banExpires === null || target.banExpires.getTime() > at.getTime())) {
          return yield* new UserBanned({ banExpires: target.banExpires })
        }
        const issued = yield* sessions.issue(target, client, {
          impersonatedBy: actor.user.id,
          tokenTtl: impersonationTtl,
          refreshTokenTtl: impersonationTtl,
          event: { type: "auth.impersonation.started", userId: target.id, actorId: actor.user.id },
        })
        return { user: target, tokens: issued }
      })

    /** Ends the impersonation session of this request (revoked at once); what remains is no session at all. */
    const stopImpersonation = (session: M.Session, client: ClientContext) =>
      Effect.gen(function* () {
        if (session.impersonatedBy === null) {
          return yield* new Forbidden({ message: "this is not an impersonation session" })
        }
        yield* store.transaction(
          Effect.zipRight(
            sessions.revoke(session.id),
            events.emit(client, {
              type: "auth.impersonation.stopped",
              userId: session.userId,
              actorId: session.impersonatedBy,
              metadata: { session_id: session.id },
            }),
          ),
        )
      })

    const auditLog = (client: ClientContext, query: AuditQuery) => auditEvents.list(client.app.id, query)

    /** The app's live users, sessions whose refresh token is still valid, and organizations: one count each. */
    const stats = (client: ClientContext) =>
      Effect.flatMap(now, (at) =>
        Effect.all(
          {
            users: users.count(client.app.id),
            activeSessions: sessionStore.countActive(client.app.id, at),
            organizations: organizations.count(client.app.id),
          },
          { concurrency: "unbounded" },
        ),
      ) satisfies Effect.Effect<Stats>

    return {
      listUsers,
      getUser,
      createUser,
      updateUser,
      deleteUser,
      ban,
      unban,
      revokeSessions,
      impersonate,
      stopImpersonation,
      auditLog,
      stats,
    } as const
  }),
}) {}
