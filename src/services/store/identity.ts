import { Context, type Effect, type Option } from "effect"
import type { EmailTaken, NotFound, UsernameTaken } from "../../domain/errors.js"
import type * as Id from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import type { Page, PageRequest } from "./common.js"
import type { PermissionQuery, ResolvedPermission } from "./platform.js"

export type UserPatch = Partial<
  Pick<
    M.User,
    | "email"
    | "emailVerified"
    | "firstName"
    | "lastName"
    | "image"
    | "username"
    | "phone"
    | "banned"
    | "banReason"
    | "banExpires"
    | "metadata"
  >
>

export interface UserListQuery extends PageRequest {
  readonly envId?: Id.EnvironmentId | undefined
  /** Case-insensitive substring of the email; LIKE metacharacters match literally. */
  readonly email?: string | undefined
  /**
   * Case-insensitive prefix of the email (emails are stored lower-cased); LIKE metacharacters match literally. Served
   * by an index, so a search stays fast on large apps.
   */
  readonly emailPrefix?: string | undefined
}

/**
 * Users. Emails are stored trimmed and lower-cased by the caller; they and usernames (case-insensitively) are unique
 * per app + environment among live users. Soft-deleted users are invisible to every method.
 */
export interface UserStoreShape {
  readonly create: (user: M.User) => Effect.Effect<M.User, EmailTaken | UsernameTaken>
  readonly get: (id: Id.UserId) => Effect.Effect<M.User, NotFound>
  readonly getByEmail: (appId: Id.AppId, envId: Id.EnvironmentId, email: string) => Effect.Effect<M.User, NotFound>
  readonly getByUsername: (
    appId: Id.AppId,
    envId: Id.EnvironmentId,
    username: string,
  ) => Effect.Effect<M.User, NotFound>
  readonly update: (
    id: Id.UserId,
    patch: UserPatch,
    now: Date,
  ) => Effect.Effect<M.User, NotFound | EmailTaken | UsernameTaken>
  /**
   * Soft delete: sets `deletedAt`, replaces the email with `deleted+<id>@deleted.invalid` and clears every personal
   * field (names, image, username, phone, metadata), so the email is free for a new sign-up.
   */
  readonly softDelete: (id: Id.UserId, now: Date) => Effect.Effect<void, NotFound>
  readonly list: (appId: Id.AppId, query: UserListQuery) => Effect.Effect<Page<M.User>>
  /** Live users of an app. */
  readonly count: (appId: Id.AppId) => Effect.Effect<number>
}
export class UserStore extends Context.Tag("authsome/UserStore")<UserStore, UserStoreShape>() {}

export interface SessionWithUser {
  readonly session: M.Session
  readonly user: M.User
}

export interface SessionWithPermission extends SessionWithUser {
  /** What granted the permission asked for, if anything did. */
  readonly grant: Option.Option<ResolvedPermission>
}

export interface RotateSession {
  readonly id: Id.SessionId
  /** Compare-and-swap: the rotation applies only while the session still holds this refresh-token hash. */
  readonly expectedRefreshTokenHash: string
  readonly tokenHash: string
  readonly refreshTokenHash: string
  readonly expiresAt: Date
  readonly refreshTokenExpiresAt: Date
  readonly now: Date
}

/**
 * Sessions and their refresh-token families. Only SHA-256 hashes of tokens are stored.
 * A family is started by each sign-in; rotation keeps it; presenting a rotated refresh token again is reuse.
 */
export interface SessionStoreShape {
  /**
   * Inserts the session and, when given, the audit events of its creation and the device it starts on — atomically,
   * in one statement on PostgreSQL (a sign-in is one round trip instead of five with BEGIN and COMMIT). The device is
   * upserted as `DeviceStore.upsert` does, and the session's `deviceId` is the id of the device row (an existing one
   * for the same user and fingerprint), whatever `session.deviceId` said.
   */
  readonly create: (
    session: M.Session,
    events?: ReadonlyArray<M.AuditEvent>,
    device?: M.Device,
  ) => Effect.Effect<M.Session>
  readonly get: (id: Id.SessionId) => Effect.Effect<M.Session, NotFound>
  /** One indexed read that also returns the (live) user: the per-request validation path. */
  readonly findByTokenHash: (tokenHash: string) => Effect.Effect<Option.Option<SessionWithUser>>
  /**
   * `findByTokenHash` and, for the session's user, `RbacStore.resolvePermission` of `permission`: a caller's own
   * permission check with its authentication, in one round trip on PostgreSQL.
   */
  readonly findByTokenHashWithPermission: (
    tokenHash: string,
    permission: Omit<PermissionQuery, "userId">,
  ) => Effect.Effect<Option.Option<SessionWithPermission>>
  readonly findByRefreshTokenHash: (refreshTokenHash: string) => Effect.Effect<Option.Option<M.Session>>
  /**
   * Atomically swaps in new token hashes if the session still holds `expectedRefreshTokenHash`, and records the old
   * refresh-token hash as revoked (`rotated`, with the new one as its `successorHash`) in the same transaction.
   * `None` when another rotation won.
   */
  readonly rotate: (input: RotateSession) => Effect.Effect<Option.Option<M.Session>>
  readonly touch: (id: Id.SessionId, now: Date) => Effect.Effect<void>
  readonly setOrganization: (
    id: Id.SessionId,
    orgId: Id.OrganizationId | null,
    now: Date,
  ) => Effect.Effect<M.Session, NotFound>
  /** Clears `orgId` on every session of the user that has it (the user left it); returns how many changed. */
  readonly clearOrganization: (userId: Id.UserId, orgId: Id.OrganizationId, now: Date) => Effect.Effect<number>
  /** Newest first. */
  readonly listByUser: (userId: Id.UserId) => Effect.Effect<ReadonlyArray<M.Session>>
  /** Removes the session; false when it did not exist. */
  readonly delete: (id: Id.SessionId) => Effect.Effect<boolean>
  /** Removes every session of the user (except `keep`), returning how many went. */
  readonly deleteByUser: (userId: Id.UserId, keep?: Id.SessionId) => Effect.Effect<number>
  readonly findRevokedRefreshToken: (refreshTokenHash: string) => Effect.Effect<Option.Option<M.RevokedRefreshToken>>
  /** Marks a revoked refresh token as replayed; true only the first time (so reuse alerts fire once). */
  readonly markReplayed: (refreshTokenHash: string, now: Date) => Effect.Effect<boolean>
  /**
   * In one transaction: records every family session's current refresh-token hash as revoked (`family_revoked`)
   * and deletes those sessions. Returns the number of sessions removed.
   */
  readonly revokeFamily: (familyId: Id.SessionFamilyId, now: Date) => Effect.Effect<number>
  /** Sessions of the app whose refresh token has not expired. */
  readonly countActive: (appId: Id.AppId, now: Date) => Effect.Effect<number>
  /** Deletes sessions whose refresh token expired before `now`. */
  readonly deleteExpired: (now: Date) => Effect.Effect<number>
}
export class SessionStore extends Context.Tag("authsome/SessionStore")<SessionStore, SessionStoreShape>() {}

/** Email verifications and magic links; single-use, consumed atomically. */
export interface VerificationStoreShape {
  readonly create: (verification: M.Verification) => Effect.Effect<M.Verification>
  /**
   * The unconsumed, unexpired verifications of that kind for the email, newest first, at most `limit` — those whose
   * attempts are used up included (they still answer `too_many_attempts` until they expire or are voided).
   */
  readonly listActive: (
    appId: Id.AppId,
    envId: Id.EnvironmentId,
    email: string,
    kind: M.VerificationKind,
    now: Date,
    limit: number,
  ) => Effect.Effect<ReadonlyArray<M.Verification>>
  readonly findByTokenHash: (tokenHash: string) => Effect.Effect<Option.Option<M.Verification>>
  /**
   * Atomically takes one attempt at the verification's code, before the caller compares it: succeeds only while the
   * verification is unconsumed, unexpired at `now` and has used fewer than `maxAttempts`, and returns the attempts
   * used counting this one. `None` when no attempt is left (or it is consumed, expired or unknown). Of any number of
   * concurrent callers, at most `maxAttempts` ever get one.
   */
  readonly claimAttempt: (id: Id.VerificationId, maxAttempts: number, now: Date) => Effect.Effect<Option.Option<number>>
  /** Atomically marks it consumed; true for exactly one of any number of concurrent callers. */
  readonly consume: (id: Id.VerificationId, now: Date) => Effect.Effect<boolean>
  /** Voids every unconsumed verification of that kind for the email (before a new one is issued). */
  readonly invalidate: (
    appId: Id.AppId,
    envId: Id.EnvironmentId,
    email: string,
    kind: M.VerificationKind,
    now: Date,
  ) => Effect.Effect<void>
  /** Deletes every verification (of any kind, consumed or not) for the email in that environment; returns how many. */
  readonly deleteByEmail: (appId: Id.AppId, envId: Id.EnvironmentId, email: string) => Effect.Effect<number>
  /** Deletes the verifications that expired before `now`; returns how many. */
  readonly deleteExpired: (now: Date) => Effect.Effect<number>
}
export class VerificationStore extends Context.Tag("authsome/VerificationStore")<
  VerificationStore,
  VerificationStoreShape
>() {}

export interface PasswordResetStoreShape {
  readonly create: (reset: M.PasswordReset) => Effect.Effect<M.PasswordReset>
  readonly findByTokenHash: (tokenHash: string) => Effect.Effect<Option.Option<M.PasswordReset>>
  /** Atomically marks it consumed; true for exactly one of any number of concurrent callers. */
  readonly consume: (id: Id.PasswordResetId, now: Date) => Effect.Effect<boolean>
  /** Voids every unconsumed reset of the user. */
  readonly invalidateForUser: (userId: Id.UserId, now: Date) => Effect.Effect<void>
  /** Deletes the resets that expired before `now`; returns how many. */
  readonly deleteExpired: (now: Date) => Effect.Effect<number>
}
export class PasswordResetStore extends Context.Tag("authsome/PasswordResetStore")<
  PasswordResetStore,
  PasswordResetStoreShape
>() {}

/** Devices: one row per user and User-Agent fingerprint. */
export interface DeviceStoreShape {
  /** Inserts, or refreshes `lastSeenAt`/`ipAddress` of the existing row for (userId, fingerprint). */
  readonly upsert: (device: M.Device) => Effect.Effect<M.Device>
  readonly get: (id: Id.DeviceId) => Effect.Effect<M.Device, NotFound>
  /** Most recently seen first. */
  readonly listByUser: (userId: Id.UserId) => Effect.Effect<ReadonlyArray<M.Device>>
  readonly setTrusted: (id: Id.DeviceId, trusted: boolean, now: Date) => Effect.Effect<M.Device, NotFound>
  readonly delete: (id: Id.DeviceId) => Effect.Effect<void, NotFound>
}
export class DeviceStore extends Context.Tag("authsome/DeviceStore")<DeviceStore, DeviceStoreShape>() {}
