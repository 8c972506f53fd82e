/** Stores of the plugin tables: password hashes, MFA, passkeys and social connections. */
import { Effect, Layer } from "effect"
import type * as M from "../../domain/models.js"
import { MfaStore, OAuthConnectionStore, PasskeyStore, PasswordHashStore } from "../../services/store/plugins.js"
import * as Sql from "./sql.js"

export const PasswordHashes = Sql.defineTable<M.PasswordHash>("authsome_password_hashes", {
  userId: "text",
  appId: "text",
  hash: "text",
  createdAt: "timestamptz",
  updatedAt: "timestamptz",
})

export const MfaEnrollments = Sql.defineTable<M.MfaEnrollment>("authsome_mfa_enrollments", {
  id: "text",
  appId: "text",
  userId: "text",
  method: "text",
  secret: "text",
  verified: "boolean",
  lastUsedStep: "bigint",
  createdAt: "timestamptz",
  updatedAt: "timestamptz",
})

export const MfaRecoveryCodes = Sql.defineTable<M.MfaRecoveryCode>("authsome_mfa_recovery_codes", {
  id: "text",
  appId: "text",
  userId: "text",
  codeHash: "text",
  usedAt: "timestamptz",
  createdAt: "timestamptz",
})

export const Passkeys = Sql.defineTable<M.Passkey>("authsome_passkeys", {
  id: "text",
  appId: "text",
  userId: "text",
  name: "text",
  credentialId: "text",
  publicKey: "text",
  counter: "bigint",
  transports: "text[]",
  deviceType: "text",
  backedUp: "boolean",
  aaguid: "text",
  lastUsedAt: "timestamptz",
  createdAt: "timestamptz",
})

export const OAuthConnections = Sql.defineTable<M.OAuthConnection>("authsome_oauth_connections", {
  id: "text",
  appId: "text",
  userId: "text",
  provider: "text",
  providerUserId: "text",
  email: "text",
  accessToken: "text",
  refreshToken: "text",
  expiresAt: "timestamptz",
  scope: "text",
  createdAt: "timestamptz",
  updatedAt: "timestamptz",
})

const makePasswordHashStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  // Read by every password sign-in.
  const hashOf = yield* Sql.preparedRead(
    "authsome_password_hash_by_user",
    (userId: string) => sql`SELECT ${PasswordHashes.select} FROM authsome_password_hashes WHERE user_id = ${userId}`,
    [""],
  )
  return PasswordHashStore.of({
    get: (userId) => hashOf(userId).pipe(Sql.maybe(PasswordHashes)),
    set: (hash) =>
      sql`${Sql.insertInto(sql, PasswordHashes, [hash])}
          ON CONFLICT (user_id) DO UPDATE SET ${Sql.fromExcluded<M.PasswordHash>("hash", "updatedAt")}`.pipe(Sql.exec),
    delete: (userId) => sql`DELETE FROM authsome_password_hashes WHERE user_id = ${userId}`.pipe(Sql.exec),
  })
})

const makeMfaStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const transaction = Sql.transaction(sql)
  return MfaStore.of({
    createEnrollment: (enrollment) =>
      sql`${Sql.insertInto(sql, MfaEnrollments, [enrollment])} RETURNING ${MfaEnrollments.select}`.pipe(
        Sql.onUniqueViolation(Sql.conflict),
        Sql.returned(MfaEnrollments),
      ),
    getEnrollment: (userId, method) =>
      sql`SELECT ${MfaEnrollments.select} FROM authsome_mfa_enrollments
          WHERE user_id = ${userId} AND method = ${method}`.pipe(Sql.maybe(MfaEnrollments)),
    markVerified: (id, now) =>
      sql`UPDATE authsome_mfa_enrollments SET verified = true, updated_at = ${now}
          WHERE id = ${id} RETURNING 1`.pipe(Sql.found("mfa_enrollment")),
    // The guard in WHERE makes a TOTP code usable once even under concurrent verifications.
    useStep: (id, step, now) =>
      sql`UPDATE authsome_mfa_enrollments SET last_used_step = ${step}, updated_at = ${now}
          WHERE id = ${id} AND (last_used_step IS NULL OR last_used_step < ${step}) RETURNING 1`.pipe(Sql.changed),
    deleteEnrollment: (id) =>
      sql`DELETE FROM authsome_mfa_enrollments WHERE id = ${id} RETURNING 1`.pipe(Sql.found("mfa_enrollment")),
    replaceRecoveryCodes: (userId, codes) =>
      Effect.gen(function* () {
        yield* sql`DELETE FROM authsome_mfa_recovery_codes WHERE user_id = ${userId}`.pipe(Sql.exec)
        if (codes.length > 0) yield* sql`${Sql.insertInto(sql, MfaRecoveryCodes, codes)}`.pipe(Sql.exec)
      }).pipe(transaction),
    consumeRecoveryCode: (userId, codeHash, now) =>
      sql`UPDATE authsome_mfa_recovery_codes SET used_at = ${now}
          WHERE user_id = ${userId} AND code_hash = ${codeHash} AND used_at IS NULL RETURNING 1`.pipe(Sql.changed),
    countUnusedRecoveryCodes: (userId) =>
      sql`SELECT count(*) AS count FROM authsome_mfa_recovery_codes
          WHERE user_id = ${userId} AND used_at IS NULL`.pipe(Sql.count),
  })
})

const makePasskeyStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return PasskeyStore.of({
    create: (passkey) =>
      sql`${Sql.insertInto(sql, Passkeys, [passkey])} RETURNING ${Passkeys.select}`.pipe(
        Sql.onUniqueViolation(Sql.conflict),
        Sql.returned(Passkeys),
      ),
    get: (id) =>
      sql`SELECT ${Passkeys.select} FROM authsome_passkeys WHERE id = ${id}`.pipe(Sql.one(Passkeys, "passkey")),
    findByCredentialId: (credentialId) =>
      sql`SELECT ${Passkeys.select} FROM authsome_passkeys WHERE credential_id = ${credentialId}`.pipe(
        Sql.maybe(Passkeys),
      ),
    listByUser: (userId) =>
      sql`SELECT ${Passkeys.select} FROM authsome_passkeys WHERE user_id = ${userId} ORDER BY id DESC`.pipe(
        Sql.all(Passkeys),
      ),
    updateCounter: (id, expected, next, now) =>
      sql`UPDATE authsome_passkeys SET counter = ${next}, last_used_at = ${now}
          WHERE id = ${id} AND counter = ${expected} RETURNING 1`.pipe(Sql.changed),
    delete: (id) => sql`DELETE FROM authsome_passkeys WHERE id = ${id} RETURNING 1`.pipe(Sql.found("passkey")),
  })
})

const makeOAuthConnectionStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return OAuthConnectionStore.of({
    create: (connection) =>
      sql`${Sql.insertInto(sql, OAuthConnections, [connection])} RETURNING ${OAuthConnections.select}`.pipe(
        Sql.onUniqueViolation(Sql.conflict),
        Sql.returned(OAuthConnections),
      ),
    findByProviderUser: (appId, provider, providerUserId) =>
      sql`SELECT ${OAuthConnections.select} FROM authsome_oauth_connections
          WHERE app_id = ${appId} AND provider = ${provider} AND provider_user_id = ${providerUserId}`.pipe(
        Sql.maybe(OAuthConnections),
      ),
    listByUser: (userId) =>
      sql`SELECT ${OAuthConnections.select} FROM authsome_oauth_connections WHERE user_id = ${userId}
          ORDER BY id`.pipe(Sql.all(OAuthConnections)),
    updateTokens: (id, tokens, now) =>
      sql`UPDATE authsome_oauth_connections SET ${Sql.assignments(sql, OAuthConnections, {
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        expiresAt: tokens.expiresAt,
        scope: tokens.scope,
        updatedAt: now,
      })}
          WHERE id = ${id} RETURNING ${OAuthConnections.select}`.pipe(Sql.one(OAuthConnections, "oauth_connection")),
    delete: (userId, provider) =>
      sql`DELETE FROM authsome_oauth_connections WHERE user_id = ${userId} AND provider = ${provider} RETURNING 1`.pipe(
        Sql.found("oauth_connection"),
      ),
  })
})

export const pluginsLayer = Layer.mergeAll(
  Layer.effect(PasswordHashStore, makePasswordHashStore),
  Layer.effect(MfaStore, makeMfaStore),
  Layer.effect(PasskeyStore, makePasskeyStore),
  Layer.effect(OAuthConnectionStore, makeOAuthConnectionStore),
)
