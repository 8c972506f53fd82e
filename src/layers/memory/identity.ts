/** Memory implementations of the identity stores: users, sessions and refresh tokens, verifications, resets, devices. */
import { Effect, Option } from "effect"
import { NotFound } from "../../domain/errors.js"
import type * as Id from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import type {
  DeviceStoreShape,
  PasswordResetStoreShape,
  SessionStoreShape,
  SessionWithUser,
  UserPatch,
  UserStoreShape,
  VerificationStoreShape,
} from "../../services/store/identity.js"
import type { Database, RowOf } from "./database.js"
import type { Engine } from "./engine.js"
import { resolvePermissionIn } from "./permissions.js"
import { byTime, newestFirst, paged, patchOf, sorted } from "./query.js"

const userPatch = patchOf<UserPatch>({
  email: true,
  emailVerified: true,
  firstName: true,
  lastName: true,
  image: true,
  username: true,
  phone: true,
  banned: true,
  banReason: true,
  banExpires: true,
  metadata: true,
})

/** Soft-deleted users are invisible: every method treats them as missing. */
export const isLive = (user: M.User | undefined): user is M.User => user !== undefined && user.deletedAt === null

const getLiveUser = (db: Database, id: Id.UserId): M.User => {
  const user = db.find("users", id)
  if (!isLive(user)) throw new NotFound({ entity: "user" })
  return user
}

export const makeUserStore = ({ run }: Engine): UserStoreShape => ({
  create: (user) => run((db) => db.insert("users", user), "EmailTaken", "UsernameTaken"),
  get: (id) => run((db) => getLiveUser(db, id), "NotFound"),
  // The email and username indexes cover live users only, as the partial indexes do.
  getByEmail: (appId, envId, email) => run((db) => db.getBy("users", "email", appId, envId, email), "NotFound"),
  getByUsername: (appId, envId, username) =>
    run((db) => db.getBy("users", "username", appId, envId, username.toLowerCase()), "NotFound"),
  update: (id, patch, now) =>
    run(
      (db) => db.update("users", getLiveUser(db, id), { ...userPatch(patch), updatedAt: now }),
      "NotFound",
      "EmailTaken",
      "UsernameTaken",
    ),
  softDelete: (id, now) =>
    run((db) => {
      db.update("users", getLiveUser(db, id), {
        deletedAt: now,
        updatedAt: now,
        email: `deleted+${id}@deleted.invalid`,
        firstName: null,
        lastName: null,
        image: null,
        username: null,
        phone: null,
        metadata: null,
      })
    }, "NotFound"),
  list: (appId, { envId, email, emailPrefix, ...page }) =>
    run((db) => {
      // ILIKE '%' || escaped || '%': a case-insensitive, literal substring match.
      const needle = email?.toLowerCase()
      const prefix = emailPrefix?.toLowerCase()
      const users = db.select(
        "users",
        (user) =>
          user.appId === appId &&
          isLive(user) &&
          (envId === undefined || user.envId === envId) &&
          (needle === undefined || user.email.toLowerCase().includes(needle)) &&
          (prefix === undefined || user.email.startsWith(prefix)),
      )
      return paged(users, page)
    }),
  count: (appId) => run((db) => db.count("users", (user) => user.appId === appId && isLive(user))),
})

/** Records a session's current refresh-token hash as revoked (`ON CONFLICT DO NOTHING`: the first record wins). */
const revokeRefreshToken = (
  db: Database,
  session: M.Session,
  reason: M.RefreshTokenRevocationReason,
  now: Date,
  successorHash: string | null = null,
) => {
  if (db.find("refreshTokens", session.refreshTokenHash) !== undefined) return
  db.insert("refreshTokens", {
    tokenHash: session.refreshTokenHash,
    familyId: session.familyId,
    appId: session.appId,
    userId: session.userId,
    reason,
    revokedAt: now,
    replayedAt: null,
    successorHash,
  })
}

const refreshTokenExpired = (session: M.Session, now: Date) => session.refreshTokenExpiresAt.getTime() < now.getTime()

/** A device seen again (same user and fingerprint) keeps its row: its last sighting is updated. */
const upsertDeviceIn = (db: Database, device: M.Device) =>
  db.upsert("devices", "fingerprint", device, () => ({
    lastSeenAt: device.lastSeenAt,
    ipAddress: device.ipAddress,
    updatedAt: device.updatedAt,
  }))

const sessionWithUser = (db: Database, tokenHash: string): SessionWithUser | undefined => {
  const session = db.findBy("sessions", "tokenHash", tokenHash)
  const user = session === undefined ? undefined : db.find("users", session.userId)
  return session !== undefined && isLive(user) ? { session, user } : undefined
}

export const makeSessionStore = ({ run, find }: Engine): SessionStoreShape => ({
  create: (session, events = [], device) =>
    run((db) => {
      const seen = device === undefined ? undefined : upsertDeviceIn(db, device)
      const created = db.insert("sessions", seen === undefined ? session : { ...session, deviceId: seen.id })
      for (const event of events) db.insert("auditEvents", event)
      return created
    }),
  get: (id) => run((db) => db.get("sessions", id), "NotFound"),
  findByTokenHash: (tokenHash) => find((db) => sessionWithUser(db, tokenHash)),
  findByTokenHashWithPermission: (tokenHash, permission) =>
    Effect.map(
      find((db) => {
        const found = sessionWithUser(db, tokenHash)
        return found && { ...found, grant: resolvePermissionIn(db, { ...permission, userId: found.user.id }) }
      }),
      // The engine hands out copies (structured clones): the Option is made outside.
      Option.map(({ grant, ...found }) => ({ ...found, grant: Option.fromNullable(grant) })),
    ),
  findByRefreshTokenHash: (refreshTokenHash) =>
    find((db) => db.findBy("sessions", "refreshTokenHash", refreshTokenHash)),
  rotate: (input) =>
    find((db) => {
      const session = db.find("sessions", input.id)
      if (session === undefined || session.refreshTokenHash !== input.expectedRefreshTokenHash) return undefined
      revokeRefreshToken(db, session, "rotated", input.now, input.refreshTokenHash)
      return db.update("sessions", session, {
        tokenHash: input.tokenHash,
        refreshTokenHash: input.refreshTokenHash,
        expiresAt: input.expiresAt,
        refreshTokenExpiresAt: input.refreshTokenExpiresAt,
        lastActivityAt: input.now,
        updatedAt: input.now,
      })
    }),
  touch: (id, now) =>
    run((db) => {
      const session = db.find("sessions", id)
      if (session !== undefined) db.update("sessions", session, { lastActivityAt: now })
    }),
  setOrganization: (id, orgId, now) =>
    run((db) => db.update("sessions", db.get("sessions", id), { orgId, updatedAt: now }), "NotFound"),
  clearOrganization: (userId, orgId, now) =>
    run((db) => {
      const sessions = db.select("sessions", (session) => session.userId === userId && session.orgId === orgId)
      for (const session of sessions) db.update("sessions", session, { orgId: null, updatedAt: now })
      return sessions.length
    }),
  listByUser: (userId) =>
    run((db) =>
      sorted(
        db.select("sessions", (session) => session.userId === userId),
        newestFirst,
      ),
    ),
  delete: (id) =>
    run((db) => {
      const session = db.find("sessions", id)
      if (session !== undefined) db.delete("sessions", session)
      return session !== undefined
    }),
  deleteByUser: (userId, keep) =>
    run((db) => db.deleteWhere("sessions", (session) => session.userId === userId && session.id !== keep)),
  findRevokedRefreshToken: (refreshTokenHash) => find((db) => db.find("refreshTokens", refreshTokenHash)),
  markReplayed: (refreshTokenHash, now) =>
    run((db) => {
      const token = db.find("refreshTokens", refreshTokenHash)
      if (token === undefined || token.replayedAt !== null) return false
      db.update("refreshTokens", token, { replayedAt: now })
      return true
    }),
  revokeFamily: (familyId, now) =>
    run((db) => {
      const family = db.select("sessions", (session) => session.familyId === familyId)
      for (const session of family) {
        revokeRefreshToken(db, session, "family_revoked", now)
        db.delete("sessions", session)
      }
      return family.length
    }),
  countActive: (appId, now) =>
    run((db) => db.count("sessions", (session) => session.appId === appId && !refreshTokenExpired(session, now))),
  deleteExpired: (now) => run((db) => db.deleteWhere("sessions", (session) => refreshTokenExpired(session, now))),
})

const isActive = (row: { readonly consumedAt: Date | null; readonly expiresAt: Date }, now: Date) =>
  row.consumedAt === null && row.expiresAt.getTime() > now.getTime()

/** `UPDATE ... SET consumed_at = now WHERE id = $1 AND consumed_at IS NULL`: true for the one caller that did it. */
const consumeOnce = <K extends "verifications" | "passwordResets">(db: Database, table: K, id: string, now: Date) => {
  const row = db.find(table, id)
  if (row === undefined || row.consumedAt !== null) return false
  // Both row types have `consumedAt`; TypeScript cannot see that through the generic table.
  db.update(table, row, { consumedAt: now } as Partial<RowOf<K>>)
  return true
}

export const makeVerificationStore = ({ run, find }: Engine): VerificationStoreShape => {
  const unconsumed =
    (appId: Id.AppId, envId: Id.EnvironmentId, email: string, kind: M.VerificationKind) => (v: M.Verification) =>
      v.appId === appId && v.envId === envId && v.email === email && v.kind === kind && v.consumedAt === null
  return {
    create: (verification) => run((db) => db.insert("verifications", verification)),
    listActive: (appId, envId, email, kind, now, limit) =>
      run((db) =>
        sorted(
          db.select("verifications", unconsumed(appId, envId, email, kind)).filter((v) => isActive(v, now)),
          newestFirst,
        ).slice(0, limit),
      ),
    findByTokenHash: (tokenHash) => find((db) => db.findBy("verifications", "tokenHash", tokenHash)),
    claimAttempt: (id, maxAttempts, now) =>
      find((db) => {
        const verification = db.find("verifications", id)
        if (verification === undefined || !isActive(verification, now) || verification.attempts >= maxAttempts) {
          return undefined
        }
        return db.update("verifications", verification, { attempts: verification.attempts + 1 }).attempts
      }),
    consume: (id, now) => run((db) => consumeOnce(db, "verifications", id, now)),
    invalidate: (appId, envId, email, kind, now) =>
      run((db) => {
        for (const verification of db.select("verifications", unconsumed(appId, envId, email, kind))) {
          db.update("verifications", verification, { consumedAt: now })
        }
      }),
    deleteByEmail: (appId, envId, email) =>
      run((db) => db.deleteWhere("verifications", (v) => v.appId === appId && v.envId === envId && v.email === email)),
    deleteExpired: (now) => run((db) => db.deleteWhere("verifications", (v) => v.expiresAt.getTime() < now.getTime())),
  }
}

export const makePasswordResetStore = ({ run, find }: Engine): PasswordResetStoreShape => ({
  create: (reset) => run((db) => db.insert("passwordResets", reset)),
  findByTokenHash: (tokenHash) => find((db) => db.findBy("passwordResets", "tokenHash", tokenHash)),
  consume: (id, now) => run((db) => consumeOnce(db, "passwordResets", id, now)),
  invalidateForUser: (userId, now) =>
    run((db) => {
      for (const reset of db.select("passwordResets", (r) => r.userId === userId && r.consumedAt === null)) {
        db.update("passwordResets", reset, { consumedAt: now })
      }
    }),
  deleteExpired: (now) => run((db) => db.deleteWhere("passwordResets", (r) => r.expiresAt.getTime() < now.getTime())),
})

export const makeDeviceStore = ({ run }: Engine): DeviceStoreShape => ({
  upsert: (device) => run((db) => upsertDeviceIn(db, device)),
  get: (id) => run((db) => db.get("devices", id), "NotFound"),
  listByUser: (userId) =>
    run((db) =>
      sorted(
        db.select("devices", (device) => device.userId === userId),
        byTime(
          (device) => device.lastSeenAt,
          (device) => device.id,
          "desc",
        ),
      ),
    ),
  setTrusted: (id, trusted, now) =>
    run((db) => db.update("devices", db.get("devices", id), { trusted, updatedAt: now }), "NotFound"),
  delete: (id) => run((db) => db.delete("devices", db.get("devices", id)), "NotFound"),
})
