/** Memory implementations of the plugin stores: password hashes, MFA, passkeys and OAuth connections. */
import { NotFound } from "../../domain/errors.js"
import type {
  MfaStoreShape,
  OAuthConnectionStoreShape,
  PasskeyStoreShape,
  PasswordHashStoreShape,
} from "../../services/store/plugins.js"
import type { Engine } from "./engine.js"
import { newestFirst, oldestFirst, replacingAllBut, sorted } from "./query.js"

export const makePasswordHashStore = ({ run, find }: Engine): PasswordHashStoreShape => ({
  get: (userId) => find((db) => db.find("passwordHashes", userId)),
  set: (hash) =>
    run((db) => {
      db.upsert("passwordHashes", "primaryKey", hash, replacingAllBut(hash, "createdAt"))
    }),
  delete: (userId) =>
    run((db) => {
      const hash = db.find("passwordHashes", userId)
      if (hash !== undefined) db.delete("passwordHashes", hash)
    }),
})

export const makeMfaStore = ({ run, find }: Engine): MfaStoreShape => ({
  createEnrollment: (enrollment) => run((db) => db.insert("mfaEnrollments", enrollment), "Conflict"),
  getEnrollment: (userId, method) => find((db) => db.findBy("mfaEnrollments", "userMethod", userId, method)),
  markVerified: (id, now) =>
    run((db) => {
      db.update("mfaEnrollments", db.get("mfaEnrollments", id), { verified: true, updatedAt: now })
    }, "NotFound"),
  useStep: (id, step, now) =>
    run((db) => {
      const enrollment = db.find("mfaEnrollments", id)
      if (enrollment === undefined || (enrollment.lastUsedStep !== null && step <= enrollment.lastUsedStep)) {
        return false
      }
      db.update("mfaEnrollments", enrollment, { lastUsedStep: step, updatedAt: now })
      return true
    }),
  deleteEnrollment: (id) => run((db) => db.delete("mfaEnrollments", db.get("mfaEnrollments", id)), "NotFound"),
  replaceRecoveryCodes: (userId, codes) =>
    run((db) => {
      db.deleteWhere("mfaRecoveryCodes", (code) => code.userId === userId)
      for (const code of codes) db.insert("mfaRecoveryCodes", code)
    }),
  consumeRecoveryCode: (userId, codeHash, now) =>
    run((db) => {
      const matching = db.select(
        "mfaRecoveryCodes",
        (code) => code.userId === userId && code.codeHash === codeHash && code.usedAt === null,
      )
      for (const code of matching) db.update("mfaRecoveryCodes", code, { usedAt: now })
      return matching.length > 0
    }),
  countUnusedRecoveryCodes: (userId) =>
    run((db) => db.count("mfaRecoveryCodes", (code) => code.userId === userId && code.usedAt === null)),
})

export const makePasskeyStore = ({ run, find }: Engine): PasskeyStoreShape => ({
  create: (passkey) => run((db) => db.insert("passkeys", passkey), "Conflict"),
  get: (id) => run((db) => db.get("passkeys", id), "NotFound"),
  findByCredentialId: (credentialId) => find((db) => db.findBy("passkeys", "credentialId", credentialId)),
  listByUser: (userId) =>
    run((db) =>
      sorted(
        db.select("passkeys", (passkey) => passkey.userId === userId),
        newestFirst,
      ),
    ),
  updateCounter: (id, expected, next, now) =>
    run((db) => {
      const passkey = db.find("passkeys", id)
      if (passkey === undefined || passkey.counter !== expected) return false
      db.update("passkeys", passkey, { counter: next, lastUsedAt: now })
      return true
    }),
  delete: (id) => run((db) => db.delete("passkeys", db.get("passkeys", id)), "NotFound"),
})

export const makeOAuthConnectionStore = ({ run, find }: Engine): OAuthConnectionStoreShape => ({
  create: (connection) => run((db) => db.insert("oauthConnections", connection), "Conflict"),
  findByProviderUser: (appId, provider, providerUserId) =>
    find((db) => db.findBy("oauthConnections", "providerUser", appId, provider, providerUserId)),
  listByUser: (userId) =>
    run((db) =>
      sorted(
        db.select("oauthConnections", (connection) => connection.userId === userId),
        oldestFirst,
      ),
    ),
  updateTokens: (id, { accessToken, refreshToken, expiresAt, scope }, now) =>
    run(
      (db) =>
        db.update("oauthConnections", db.get("oauthConnections", id), {
          accessToken,
          refreshToken,
          expiresAt,
          scope,
          updatedAt: now,
        }),
      "NotFound",
    ),
  delete: (userId, provider) =>
    run((db) => {
      const removed = db.deleteWhere(
        "oauthConnections",
        (connection) => connection.userId === userId && connection.provider === provider,
      )
      if (removed === 0) throw new NotFound({ entity: "oauth_connection" })
    }, "NotFound"),
})
