/**
 * Sessions: opaque 256-bit tokens stored only as SHA-256 hashes, refresh-token rotation within families, and reuse
 * detection. Validation is one indexed read (plus a write at most once a minute to record activity).
 */
import { Clock, Duration, Effect, Option } from "effect"
import { InvalidCredentials, NotFound, SessionExpired, Unauthorized } from "../domain/errors.js"
import { isId, newId, type SessionId, type UserId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import type { AuditInput } from "./audit.js"
import { AuthConfig } from "./config.js"
import type { ClientContext } from "./context.js"
import { randomToken, sha256Hex } from "./crypto.js"
import { Devices } from "./devices.js"
import { Events } from "./events.js"
import type { Tenant } from "./tenancy.js"
import {
  AppSessionConfigStore,
  type PermissionQuery,
  SessionStore,
  type SessionWithPermission,
  type SessionWithUser,
  Store,
} from "./store/index.js"

export interface IssuedTokens {
  readonly session: M.Session
  readonly sessionToken: string
  readonly refreshToken: string
}

export interface IssueOptions {
  /**
   * The event of this session's creation (e.g. `auth.signin`), written with it and with `session.created` (their
   * metadata gains `session_id`).
   */
  readonly event?: AuditInput
  readonly impersonatedBy?: UserId
  /** Shorter lifetimes for special sessions (impersonation); never longer than the configured ones. */
  readonly tokenTtl?: Duration.Duration
  readonly refreshTokenTtl?: Duration.Duration
}

interface Lifetimes {
  readonly tokenTtl: Duration.Duration
  readonly refreshTokenTtl: Duration.Duration
}

/** How long an app's session-lifetime overrides are reused before they are read again. */
const overrideCacheMillis = 5_000

/** `last_activity_at` is written at most this often per session, so validation stays a read. */
const activityResolution = 60_000

export class Sessions extends Effect.Service<Sessions>()("authsome/Sessions", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    const store = yield* Store
    const sessions = yield* SessionStore
    const appSessionConfigs = yield* AppSessionConfigStore
    const devices = yield* Devices
    const events = yield* Events
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    /**
     * The configured lifetimes, with the app's overrides (`authsome_app_session_configs`) applied. Read at most
     * every few seconds per app: every sign-in and refresh needs them, and they change rarely.
     */
    const lifetimesByApp = new Map<string, { value: Lifetimes; at: number }>()
    const lifetimes = (app: M.App): Effect.Effect<Lifetimes> =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => {
        const cached = lifetimesByApp.get(app.id)
        if (cached && at - cached.at < overrideCacheMillis) return Effect.succeed(cached.value)
        return appSessionConfigs.get(app.id).pipe(
          Effect.map(
            (override): Lifetimes => ({
              tokenTtl:
                override.tokenTtlSeconds === null
                  ? config.session.tokenTtl
                  : Duration.seconds(override.tokenTtlSeconds),
              refreshTokenTtl:
                override.refreshTokenTtlSeconds === null
                  ? config.session.refreshTokenTtl
                  : Duration.seconds(override.refreshTokenTtlSeconds),
            }),
          ),
          Effect.catchTag("NotFound", () =>
            Effect.succeed({ tokenTtl: config.session.tokenTtl, refreshTokenTtl: config.session.refreshTokenTtl }),
          ),
          Effect.tap((value) => {
            lifetimesByApp.set(app.id, { value, at })
          }),
        )
      })

    /** Drops the cached lifetimes of an app whose overrides just changed (other instances re-read within seconds). */
    const forgetLifetimes = (appId: M.App["id"]) =>
      Effect.sync(() => {
        lifetimesByApp.delete(appId)
      })

    const later = (from: Date, ttl: Duration.Duration) => new Date(from.getTime() + Duration.toMillis(ttl))

    /**
     * Starts a session (and a new refresh-token family) for a user who just proved who they are. Recording the sign-in
     * (with the session id) is the caller's: `SignIn.complete`, the one place sessions start.
     */
    const issue = (user: M.User, ctx: ClientContext, options: IssueOptions = {}) =>
      Effect.gen(function* () {
        const at = yield* now
        const ttl = yield* lifetimes(ctx.app)
        const tokenTtl = options.tokenTtl ? Duration.min(options.tokenTtl, ttl.tokenTtl) : ttl.tokenTtl
        const refreshTokenTtl = options.refreshTokenTtl
          ? Duration.min(options.refreshTokenTtl, ttl.refreshTokenTtl)
          : ttl.refreshTokenTtl
        const device = devices.sighting(user, ctx, at)
        const sessionToken = randomToken()
        const refreshToken = randomToken()
        const id = newId.session()
        const userId = user.id
        const recorded = yield* events.prepare(
          ctx,
          [
            {
              type: "session.created",
              userId,
              actorId: options.impersonatedBy ?? userId,
              metadata: options.impersonatedBy
                ? { session_id: id, impersonated_by: options.impersonatedBy }
                : { session_id: id },
            },
            ...(options.event ? [{ ...options.event, metadata: { ...options.event.metadata, session_id: id } }] : []),
          ],
          at,
        )
        const queued = recorded.deliveries
        const create = sessions.create(
          {
            id,
            appId: user.appId,
            envId: user.envId,
            userId: user.id,
            orgId: null,
            familyId: newId.sessionFamily(),
            tokenHash: sha256Hex(sessionToken),
            refreshTokenHash: sha256Hex(refreshToken),
            ipAddress: ctx.ip,
            userAgent: ctx.userAgent,
            deviceId: device?.id ?? null,
            impersonatedBy: options.impersonatedBy ?? null,
            expiresAt: later(at, tokenTtl),
            refreshTokenExpiresAt: later(at, refreshTokenTtl),
            lastActivityAt: at,
            createdAt: at,
            updatedAt: at,
          },
          recorded.events,
          device,
        )
        // Without subscribed webhooks a sign-in stays one statement; with some, their deliveries join it.
        const session = yield* queued.length === 0
          ? create
          : store.transaction(Effect.tap(create, () => events.enqueue(queued)))
        return { session, sessionToken, refreshToken } satisfies IssuedTokens
      })

    /** A lookup's result for the tenant of the request: absent, another app's, expired or banned fail. */
    const admit = <Found extends SessionWithUser>(
      found: Option.Option<Found>,
      tenant: Tenant,
    ): Effect.Effect<Found, Unauthorized | SessionExpired> => {
      if (Option.isNone(found) || found.value.session.appId !== tenant.app.id) {
        return Effect.fail(new Unauthorized({ message: "invalid session" }))
      }
      return Effect.flatMap(Clock.currentTimeMillis, (at): Effect.Effect<Found, Unauthorized | SessionExpired> => {
        const { session, user } = found.value
        if (session.expiresAt.getTime() <= at) return Effect.fail(new SessionExpired())
        // A ban deletes the user's sessions; this also refuses one a sign-in racing the ban slipped in.
        if (user.banned && (user.banExpires === null || user.banExpires.getTime() > at)) {
          return Effect.fail(new Unauthorized({ message: "invalid session" }))
        }
        return at - session.lastActivityAt.getTime() >= activityResolution
          ? Effect.as(sessions.touch(session.id, new Date(at)), found.value)
          : Effect.succeed(found.value)
      })
    }

    /** A session token's lookup (`find`, by its hash), admitted for the tenant; a malformed token reads nothing. */
    const lookUp = <Found extends SessionWithUser>(
      token: string,
      tenant: Tenant,
      find: (tokenHash: string) => Effect.Effect<Option.Option<Found>>,
    ): Effect.Effect<Found, Unauthorized | SessionExpired> =>
      token.length === 0 || token.length > 512
        ? Effect.fail(new Unauthorized({ message: "missing or malformed credentials" }))
        : Effect.flatMap(find(sha256Hex(token)), (found) => admit(found, tenant))

    /**
     * The session and user behind a session token, for the tenant of the request. A token of another app is treated
     * as absent; an expired one fails with `SessionExpired`.
     */
    // Every request of every app comes through here: flatMap chains rather than generators.
    const validate = (token: string, tenant: Tenant): Effect.Effect<SessionWithUser, Unauthorized | SessionExpired> =>
      lookUp(token, tenant, sessions.findByTokenHash)

    /**
     * `validate`, and what grants the session's user `permission` in the tenant's app (`Authorization.check` without
     * API-key scopes), read with the session: a caller's own permission check costs one round trip.
     */
    const validateWithPermission = (
      token: string,
      tenant: Tenant,
      permission: Omit<PermissionQuery, "userId" | "appId">,
    ): Effect.Effect<SessionWithPermission, Unauthorized | SessionExpired> =>
      lookUp(token, tenant, (tokenHash) =>
        sessions.findByTokenHashWithPermission(tokenHash, { ...permission, appId: tenant.app.id }),
      )

    /**
     * Whether a revoked refresh token is one presented again within the reuse grace (http-api.md §3 "Refresh reuse
     * grace"): rotated last in its family — its successor is still its session's — less than
     * `session.refreshReuseInterval` ago. Concurrent tabs refreshing at once do that; it is refused, nothing revoked.
     */
    const withinReuseGrace = (revoked: M.RevokedRefreshToken, at: Date) =>
      Effect.gen(function* () {
        if (revoked.reason !== "rotated" || revoked.successorHash === null) return false
        if (at.getTime() - revoked.revokedAt.getTime() >= Duration.toMillis(config.session.refreshReuseInterval)) {
          return false
        }
        const successor = yield* sessions.findByRefreshTokenHash(revoked.successorHash)
        return Option.isSome(successor) && successor.value.familyId === revoked.familyId
      })

    /**
     * Rotates both tokens of the session holding `refreshToken`. Of concurrent refreshes with one token, exactly one
     * wins (compare-and-swap); the others are refused without harm, as is the token rotated last presented again
     * within the reuse grace. Any other refresh token already rotated is reuse: its whole family is revoked.
     */
    const refresh = (refreshToken: string, ctx: ClientContext) =>
      Effect.gen(function* () {
        if (refreshToken.length === 0 || refreshToken.length > 512) return yield* new InvalidCredentials()
        const hash = sha256Hex(refreshToken)
        const at = yield* now
        const current = yield* sessions.findByRefreshTokenHash(hash)
        if (Option.isNone(current)) {
          const revoked = yield* sessions.findRevokedRefreshToken(hash)
          if (
            Option.isSome(revoked) &&
            revoked.value.appId === ctx.app.id &&
            !(yield* withinReuseGrace(revoked.value, at))
          ) {
            const family = revoked.value
            yield* store.transaction(
              Effect.gen(function* () {
                if (!(yield* sessions.markReplayed(hash, at))) return
                const removed = yield* sessions.revokeFamily(family.familyId, at)
                yield* events.emit(ctx, {
                  type: "auth.refresh_token_reused",
                  outcome: "failure",
                  userId: family.userId,
                  reason: "refresh_token_reused",
                  metadata: { family_id: family.familyId, sessions_revoked: removed },
                })
              }),
            )
          }
          return yield* new InvalidCredentials()
        }
        const session = current.value
        if (session.appId !== ctx.app.id) return yield* new InvalidCredentials()
        if (session.refreshTokenExpiresAt.getTime() <= at.getTime()) {
          yield* sessions.delete(session.id)
          return yield* new InvalidCredentials()
        }
        const ttl = yield* lifetimes(ctx.app)
        const sessionToken = randomToken()
        const nextRefreshToken = randomToken()
        const rotated = yield* sessions.rotate({
          id: session.id,
          expectedRefreshTokenHash: hash,
          tokenHash: sha256Hex(sessionToken),
          refreshTokenHash: sha256Hex(nextRefreshToken),
          // An impersonation session never outlives the hour it was given: refreshing does not extend it.
          expiresAt: session.impersonatedBy
            ? new Date(Math.min(later(at, ttl.tokenTtl).getTime(), session.refreshTokenExpiresAt.getTime()))
            : later(at, ttl.tokenTtl),
          refreshTokenExpiresAt: session.impersonatedBy
            ? session.refreshTokenExpiresAt
            : later(at, ttl.refreshTokenTtl),
          now: at,
        })
        if (Option.isNone(rotated)) return yield* new InvalidCredentials()
        return { session: rotated.value, sessionToken, refreshToken: nextRefreshToken } satisfies IssuedTokens
      })

    const revoke = (id: SessionId) => sessions.delete(id)
    const revokeAllForUser = (userId: UserId, keep?: SessionId) => sessions.deleteByUser(userId, keep)

    /** Ends the session now (every instance rejects its token on the next request), with its events. */
    const signOut = (session: M.Session, client: ClientContext) =>
      store.transaction(
        Effect.all([
          revoke(session.id),
          events.emit(client, { type: "auth.signout", userId: session.userId, metadata: { session_id: session.id } }),
          events.emit(client, {
            type: "session.revoked",
            userId: session.userId,
            metadata: { session_id: session.id, reason: "signout" },
          }),
        ]),
      )

    /** The user's sessions, newest first, marking the one of this request (none when it used an API key). */
    const listForUser = (user: M.User, current: SessionId | undefined) =>
      Effect.map(sessions.listByUser(user.id), (all) =>
        all.map((session) => ({ session, current: session.id === current })),
      )

    /** Revokes one of the user's own sessions; another user's (or a malformed id) is `NotFound`. */
    const revokeOwn = (user: M.User, id: string, client: ClientContext) =>
      Effect.gen(function* () {
        if (!isId("session", id)) return yield* new NotFound({ entity: "session" })
        const target = yield* sessions.get(id as SessionId)
        if (target.userId !== user.id) return yield* new NotFound({ entity: "session" })
        yield* store.transaction(
          Effect.zipRight(
            revoke(target.id),
            events.emit(client, { type: "session.revoked", userId: user.id, metadata: { session_id: target.id } }),
          ),
        )
        return target
      })

    /** Revokes every session of the user but `keep`; returns how many went. */
    const revokeOthers = (user: M.User, keep: SessionId, client: ClientContext) =>
      store.transaction(
        Effect.tap(revokeAllForUser(user.id, keep), (revoked) =>
          events.emit(client, {
            type: "session.revoked",
            userId: user.id,
            metadata: { revoked, scope: "others" },
          }),
        ),
      )

    return {
      issue,
      validate,
      validateWithPermission,
      forgetLifetimes,
      refresh,
      revoke,
      revokeAllForUser,
      signOut,
      listForUser,
      revokeOwn,
      revokeOthers,
    } as const
  }),
}) {}
