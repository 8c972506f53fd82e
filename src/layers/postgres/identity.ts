/** Users, sessions and refresh-token families, verifications, password resets and devices. */
import { Effect, Layer, Option } from "effect"
import { EmailTaken, UsernameTaken } from "../../domain/errors.js"
import * as M from "../../domain/models.js"
import {
  DeviceStore,
  PasswordResetStore,
  type RotateSession,
  SessionStore,
  type SessionWithPermission,
  type SessionWithUser,
  UserStore,
  VerificationStore,
} from "../../services/store/identity.js"
import { AuditEvents } from "./audit-events.js"
import { decodeGrant, grantingPermission } from "./permissions.js"
import * as Sql from "./sql.js"

export const Users = Sql.tableOf("authsome_users", M.User)

export const Sessions = Sql.tableOf("authsome_sessions", M.Session)

export const RevokedRefreshTokens = Sql.tableOf("authsome_refresh_tokens", M.RevokedRefreshToken)

export const Verifications = Sql.tableOf("authsome_verifications", M.Verification)

export const PasswordResets = Sql.tableOf("authsome_password_resets", M.PasswordReset)

export const Devices = Sql.tableOf("authsome_devices", M.Device)

const userTaken = (constraint: string) =>
  constraint === "authsome_users_email_key"
    ? new EmailTaken()
    : constraint === "authsome_users_username_key"
      ? new UsernameTaken()
      : undefined

const makeUserStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const onReplica = yield* Sql.replicaReads
  // Every read and write sees live users only.
  const findUser = (condition: Sql.Fragment) =>
    sql`SELECT ${Users.select} FROM authsome_users WHERE ${condition} AND deleted_at IS NULL`.pipe(
      Sql.one(Users, "user"),
    )
  // Every sign-in starts here.
  const userByEmail = yield* Sql.preparedRead(
    "authsome_user_by_email",
    (appId: string, envId: string, email: string) =>
      sql`SELECT ${Users.select} FROM authsome_users
          WHERE app_id = ${appId} AND env_id = ${envId} AND email = ${email} AND deleted_at IS NULL`,
    ["", "", ""],
  )

  return UserStore.of({
    create: (user) =>
      sql`${Sql.insertInto(sql, Users, [user])} RETURNING ${Users.select}`.pipe(
        Sql.onUniqueViolation(userTaken),
        Sql.returned(Users),
      ),
    get: (id) => findUser(sql`id = ${id}`),
    getByEmail: (appId, envId, email) => userByEmail(appId, envId, email).pipe(Sql.one(Users, "user")),
    // Matches the expression of the unique index authsome_users_username_key.
    getByUsername: (appId, envId, username) =>
      findUser(
        sql`app_id = ${appId} AND env_id = ${envId} AND lower(username) = lower(${username}) AND username IS NOT NULL`,
      ),
    update: (id, patch, now) =>
      sql`UPDATE authsome_users SET ${Sql.assignments(sql, Users, { ...patch, updatedAt: now })}
          WHERE id = ${id} AND deleted_at IS NULL RETURNING ${Users.select}`.pipe(
        Sql.onUniqueViolation(userTaken),
        Sql.one(Users, "user"),
      ),
    // The placeholder email frees the address (and the cleared username the name) for a new sign-up.
    softDelete: (id, now) =>
      sql`UPDATE authsome_users SET
            deleted_at = ${now}, updated_at = ${now}, email = 'deleted+' || id || '@deleted.invalid',
            first_name = NULL, last_name = NULL, image = NULL, username = NULL, phone = NULL, metadata = NULL
          WHERE id = ${id} AND deleted_at IS NULL RETURNING 1`.pipe(Sql.found("user")),
    // Lists and searches tolerate lag: they run on the read replica when there is one.
    list: (appId, query) =>
      onReplica((sql) =>
        Sql.listPage(
          sql,
          Users,
          [
            sql`app_id = ${appId}`,
            sql`deleted_at IS NULL`,
            query.envId === undefined ? undefined : sql`env_id = ${query.envId}`,
            query.email === undefined ? undefined : sql`email ILIKE ${`%${Sql.escapeLike(query.email)}%`} ESCAPE '\\'`,
            query.emailPrefix === undefined
              ? undefined
              : sql`email LIKE ${`${Sql.escapeLike(query.emailPrefix.toLowerCase())}%`} ESCAPE '\\'`,
          ],
          query,
        ),
      ),
    // On the primary: the platform app's first-user check reads it right after the sign-up's write.
    count: (appId) =>
      sql`SELECT count(*) AS count FROM authsome_users WHERE app_id = ${appId} AND deleted_at IS NULL`.pipe(Sql.count),
  })
})

/** A device seen again (same user and User-Agent fingerprint) keeps its row: its last sighting is updated. */
const upsertDeviceWith = (sql: Sql.Client) => (device: M.Device) =>
  sql`${Sql.insertInto(sql, Devices, [device])}
      ON CONFLICT (user_id, fingerprint) DO UPDATE SET
        ${Sql.fromExcluded<M.Device>("lastSeenAt", "ipAddress", "updatedAt")}`

const makeSessionStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const upsertDevice = upsertDeviceWith(sql)
  const onReplica = yield* Sql.replicaReads
  const transaction = Sql.transaction(sql)
  // The per-request validation read: one lookup by token hash joined to the live user. Behind a transaction pooler
  // (unnamed statements) the same lookup runs in its PL/pgSQL function, which keeps its plan (migration 14).
  const pooled = yield* Sql.behindTransactionPooler
  const sessionByTokenHash = yield* Sql.preparedRead(
    "authsome_session_by_token_hash",
    (tokenHash: string) =>
      pooled
        ? sql`SELECT s, u FROM authsome_session_by_token_hash(${tokenHash})`
        : sql`SELECT to_jsonb(s) AS s, to_jsonb(u) AS u
              FROM authsome_sessions s JOIN authsome_users u ON u.id = s.user_id
              WHERE s.token_hash = ${tokenHash} AND u.deleted_at IS NULL`,
    [""],
  )
  // The same lookup with a permission check of its user (`RbacStore.resolvePermission`'s walk): one round trip.
  const sessionWithPermission = yield* Sql.preparedRead(
    "authsome_session_with_permission",
    (tokenHash: string, appId: string, orgId: string | null, resource: string, action: string) =>
      pooled
        ? sql`SELECT f.s, f.u, g.role_id, g.role_slug, g.resource, g.action, g.depth
              FROM authsome_session_by_token_hash(${tokenHash}) f
              LEFT JOIN LATERAL authsome_resolve_permission(f.s->>'user_id', ${appId}, ${orgId}, ${resource}, ${action}) g
                ON true`
        : sql`WITH found AS (
                SELECT to_jsonb(s) AS s, to_jsonb(u) AS u, s.user_id
                FROM authsome_sessions s JOIN authsome_users u ON u.id = s.user_id
                WHERE s.token_hash = ${tokenHash} AND u.deleted_at IS NULL
              )
              SELECT found.s, found.u, g.role_id, g.role_slug, g.resource, g.action, g.depth
              FROM found LEFT JOIN LATERAL (
                ${grantingPermission(sql, Sql.column("found.user_id"), appId, orgId, resource, action)}
              ) g ON true`,
    ["", "", "", "", ""],
  )
  const decodeSessionWithUser = (row: Sql.Row): SessionWithUser => ({
    session: Sessions.decodeJson(row["s"] as Sql.Row),
    user: Users.decodeJson(row["u"] as Sql.Row),
  })

  const rotate = (input: RotateSession) =>
    Effect.gen(function* () {
      const rotated = yield* sql`UPDATE authsome_sessions SET
            token_hash = ${input.tokenHash}, refresh_token_hash = ${input.refreshTokenHash},
            expires_at = ${input.expiresAt}, refresh_token_expires_at = ${input.refreshTokenExpiresAt},
            last_activity_at = ${input.now}, updated_at = ${input.now}
          WHERE id = ${input.id} AND refresh_token_hash = ${input.expectedRefreshTokenHash}
          RETURNING ${Sessions.select}`.pipe(Sql.maybe(Sessions))
      if (Option.isSome(rotated)) {
        const session = rotated.value
        // The old refresh token is now revoked: presenting it again is reuse of the family.
        yield* sql`INSERT INTO authsome_refresh_tokens
                     (token_hash, family_id, app_id, user_id, reason, revoked_at, successor_hash)
                   VALUES (${input.expectedRefreshTokenHash}, ${session.familyId}, ${session.appId},
                           ${session.userId}, 'rotated', ${input.now}, ${input.refreshTokenHash})
                   ON CONFLICT (token_hash) DO NOTHING`.pipe(Sql.exec)
      }
      return rotated
    }).pipe(transaction)

  return SessionStore.of({
    create: (session, events = [], device) => {
      const inserted =
        device === undefined
          ? Sql.insertInto(sql, Sessions, [session])
          : Sql.insertInto(sql, Sessions, [session], { deviceId: sql`(SELECT id FROM device)` })
      const parts = [
        device === undefined ? undefined : sql`device AS (${upsertDevice(device)} RETURNING id)`,
        sql`created AS (${inserted} RETURNING ${Sessions.select})`,
        events.length === 0 ? undefined : sql`recorded AS (${Sql.insertInto(sql, AuditEvents, events)})`,
      ].filter((part) => part !== undefined)
      return (
        parts.length === 1
          ? sql`${inserted} RETURNING ${Sessions.select}`
          : sql`WITH ${sql.csv(parts)} SELECT * FROM created`
      ).pipe(Sql.returned(Sessions))
    },
    get: (id) =>
      sql`SELECT ${Sessions.select} FROM authsome_sessions WHERE id = ${id}`.pipe(Sql.one(Sessions, "session")),
    findByTokenHash: (tokenHash) =>
      sessionByTokenHash(tokenHash).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), decodeSessionWithUser)),
        Sql.dieOnSqlError,
      ),
    findByTokenHashWithPermission: (tokenHash, { appId, orgId, resource, action }) =>
      sessionWithPermission(tokenHash, appId, orgId, resource, action).pipe(
        Effect.map((rows) =>
          Option.map(
            Option.fromNullable(rows[0]),
            (row): SessionWithPermission => ({
              ...decodeSessionWithUser(row),
              grant: Option.fromNullable(decodeGrant(row)),
            }),
          ),
        ),
        Sql.dieOnSqlError,
      ),
    findByRefreshTokenHash: (refreshTokenHash) =>
      sql`SELECT ${Sessions.select} FROM authsome_sessions WHERE refresh_token_hash = ${refreshTokenHash}`.pipe(
        Sql.maybe(Sessions),
      ),
    rotate,
    touch: (id, now) => sql`UPDATE authsome_sessions SET last_activity_at = ${now} WHERE id = ${id}`.pipe(Sql.exec),
    setOrganization: (id, orgId, now) =>
      sql`UPDATE authsome_sessions SET org_id = ${orgId}, updated_at = ${now}
          WHERE id = ${id} RETURNING ${Sessions.select}`.pipe(Sql.one(Sessions, "session")),
    clearOrganization: (userId, orgId, now) =>
      sql`WITH cleared AS (
            UPDATE authsome_sessions SET org_id = NULL, updated_at = ${now}
            WHERE user_id = ${userId} AND org_id = ${orgId} RETURNING 1
          ) SELECT count(*) AS count FROM cleared`.pipe(Sql.count),
    listByUser: (userId) =>
      sql`SELECT ${Sessions.select} FROM authsome_sessions WHERE user_id = ${userId} ORDER BY id DESC`.pipe(
        Sql.all(Sessions),
      ),
    delete: (id) => sql`DELETE FROM authsome_sessions WHERE id = ${id} RETURNING 1`.pipe(Sql.changed),
    deleteByUser: (userId, keep) =>
      sql`WITH deleted AS (
            DELETE FROM authsome_sessions
            WHERE ${Sql.where(sql, [sql`user_id = ${userId}`, keep === undefined ? undefined : sql`id <> ${keep}`])}
            RETURNING 1
          ) SELECT count(*) AS count FROM deleted`.pipe(Sql.count),
    findRevokedRefreshToken: (refreshTokenHash) =>
      sql`SELECT ${RevokedRefreshTokens.select} FROM authsome_refresh_tokens
          WHERE token_hash = ${refreshTokenHash}`.pipe(Sql.maybe(RevokedRefreshTokens)),
    markReplayed: (refreshTokenHash, now) =>
      sql`UPDATE authsome_refresh_tokens SET replayed_at = ${now}
          WHERE token_hash = ${refreshTokenHash} AND replayed_at IS NULL RETURNING 1`.pipe(Sql.changed),
    // One statement is one transaction: the hashes recorded are exactly those of the sessions deleted.
    revokeFamily: (familyId, now) =>
      sql`WITH deleted AS (
            DELETE FROM authsome_sessions WHERE family_id = ${familyId}
            RETURNING refresh_token_hash, family_id, app_id, user_id
          ), revoked AS (
            INSERT INTO authsome_refresh_tokens (token_hash, family_id, app_id, user_id, reason, revoked_at)
            SELECT refresh_token_hash, family_id, app_id, user_id, 'family_revoked', ${now} FROM deleted
            ON CONFLICT (token_hash) DO NOTHING
          ) SELECT count(*) AS count FROM deleted`.pipe(Sql.count),
    // A statistic: lag-tolerant (the read replica when there is one).
    countActive: (appId, now) =>
      onReplica((sql) =>
        sql`SELECT count(*) AS count FROM authsome_sessions
              WHERE app_id = ${appId} AND refresh_token_expires_at > ${now}`.pipe(Sql.count),
      ),
    deleteExpired: (now) =>
      sql`WITH deleted AS (
            DELETE FROM authsome_sessions WHERE refresh_token_expires_at < ${now} RETURNING 1
          ) SELECT count(*) AS count FROM deleted`.pipe(Sql.count),
  })
})

const makeVerificationStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return VerificationStore.of({
    create: (verification) =>
      sql`${Sql.insertInto(sql, Verifications, [verification])} RETURNING ${Verifications.select}`.pipe(
        Sql.returned(Verifications),
      ),
    // Newest first along authsome_verifications_lookup_idx (app_id, env_id, email, kind, id DESC).
    listActive: (appId, envId, email, kind, now, limit) =>
      sql`SELECT ${Verifications.select} FROM authsome_verifications
          WHERE app_id = ${appId} AND env_id = ${envId} AND email = ${email} AND kind = ${kind}
            AND consumed_at IS NULL AND expires_at > ${now}
          ORDER BY id DESC LIMIT ${limit}`.pipe(Sql.all(Verifications)),
    findByTokenHash: (tokenHash) =>
      sql`SELECT ${Verifications.select} FROM authsome_verifications WHERE token_hash = ${tokenHash}`.pipe(
        Sql.maybe(Verifications),
      ),
    // One statement: the row lock serialises concurrent claims, and each re-checks the cap after the one before.
    claimAttempt: (id, maxAttempts, now) =>
      sql`UPDATE authsome_verifications SET attempts = attempts + 1
          WHERE id = ${id} AND attempts < ${maxAttempts} AND consumed_at IS NULL AND expires_at > ${now}
          RETURNING attempts AS count`.pipe(
        Sql.dieOnSqlError,
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (row) => Number(row["count"]))),
      ),
    consume: (id, now) =>
      sql`UPDATE authsome_verifications SET consumed_at = ${now}
          WHERE id = ${id} AND consumed_at IS NULL RETURNING 1`.pipe(Sql.changed),
    invalidate: (appId, envId, email, kind, now) =>
      sql`UPDATE authsome_verifications SET consumed_at = ${now}
          WHERE app_id = ${appId} AND env_id = ${envId} AND email = ${email} AND kind = ${kind}
            AND consumed_at IS NULL`.pipe(Sql.exec),
    deleteByEmail: (appId, envId, email) =>
      sql`WITH deleted AS (
            DELETE FROM authsome_verifications WHERE app_id = ${appId} AND env_id = ${envId} AND email = ${email}
            RETURNING 1
          ) SELECT count(*) AS count FROM deleted`.pipe(Sql.count),
    deleteExpired: (now) =>
      sql`WITH deleted AS (
            DELETE FROM authsome_verifications WHERE expires_at < ${now} RETURNING 1
          ) SELECT count(*) AS count FROM deleted`.pipe(Sql.count),
  })
})

const makePasswordResetStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return PasswordResetStore.of({
    create: (reset) =>
      sql`${Sql.insertInto(sql, PasswordResets, [reset])} RETURNING ${PasswordResets.select}`.pipe(
        Sql.returned(PasswordResets),
      ),
    findByTokenHash: (tokenHash) =>
      sql`SELECT ${PasswordResets.select} FROM authsome_password_resets WHERE token_hash = ${tokenHash}`.pipe(
        Sql.maybe(PasswordResets),
      ),
    consume: (id, now) =>
      sql`UPDATE authsome_password_resets SET consumed_at = ${now}
          WHERE id = ${id} AND consumed_at IS NULL RETURNING 1`.pipe(Sql.changed),
    invalidateForUser: (userId, now) =>
      sql`UPDATE authsome_password_resets SET consumed_at = ${now}
          WHERE user_id = ${userId} AND consumed_at IS NULL`.pipe(Sql.exec),
    deleteExpired: (now) =>
      sql`WITH deleted AS (
            DELETE FROM authsome_password_resets WHERE expires_at < ${now} RETURNING 1
          ) SELECT count(*) AS count FROM deleted`.pipe(Sql.count),
  })
})

const makeDeviceStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const upsertDevice = upsertDeviceWith(sql)
  return DeviceStore.of({
    upsert: (device) => sql`${upsertDevice(device)} RETURNING ${Devices.select}`.pipe(Sql.returned(Devices)),
    get: (id) => sql`SELECT ${Devices.select} FROM authsome_devices WHERE id = ${id}`.pipe(Sql.one(Devices, "device")),
    listByUser: (userId) =>
      sql`SELECT ${Devices.select} FROM authsome_devices WHERE user_id = ${userId}
          ORDER BY last_seen_at DESC, id DESC`.pipe(Sql.all(Devices)),
    setTrusted: (id, trusted, now) =>
      sql`UPDATE authsome_devices SET trusted = ${trusted}, updated_at = ${now}
          WHERE id = ${id} RETURNING ${Devices.select}`.pipe(Sql.one(Devices, "device")),
    delete: (id) => sql`DELETE FROM authsome_devices WHERE id = ${id} RETURNING 1`.pipe(Sql.found("device")),
  })
})

export const identityLayer = Layer.mergeAll(
  Layer.effect(UserStore, makeUserStore),
  Layer.effect(SessionStore, makeSessionStore),
  Layer.effect(VerificationStore, makeVerificationStore),
  Layer.effect(PasswordResetStore, makePasswordResetStore),
  Layer.effect(DeviceStore, makeDeviceStore),
)
