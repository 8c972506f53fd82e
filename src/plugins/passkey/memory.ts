/** `PasskeyStore` on the memory engine. */
import {
  byId,
  cascade,
  conflict,
  type MemoryEngine,
  memoryTable,
  newestFirst,
  ownedByApp,
  sorted,
} from "../../plugin/store.js"
import type { Passkey, PasskeyChallenge, PasskeyStoreShape } from "./store.js"

const passkeys = memoryTable<Passkey>()("passkeys", {
  entity: "passkey",
  primaryKey: byId,
  unique: {
    credentialId: { key: (passkey) => [passkey.credentialId], violation: conflict("credential already registered") },
  },
  foreignKeys: [ownedByApp, cascade("userId", "users")],
})

const passkeyChallenges = memoryTable<PasskeyChallenge>()("passkeyChallenges", {
  entity: "passkey_challenge",
  primaryKey: byId,
  unique: {
    challenge: { key: (row) => [row.challenge], violation: conflict("duplicate challenge") },
  },
  foreignKeys: [ownedByApp, cascade("userId", "users")],
})

export const makeMemoryPasskeyStore = (engine: MemoryEngine): PasskeyStoreShape => {
  engine.register(passkeys)
  engine.register(passkeyChallenges)
  const { run, find } = engine
  return {
    create: (passkey) => run((db) => db.insert(passkeys, passkey), "Conflict"),
    get: (id) => run((db) => db.get(passkeys, id), "NotFound"),
    findByCredentialId: (credentialId) => find((db) => db.findBy(passkeys, "credentialId", credentialId)),
    listByUser: (userId) =>
      run((db) =>
        sorted(
          db.select(passkeys, (passkey) => passkey.userId === userId),
          newestFirst,
        ),
      ),
    updateCounter: (id, expected, next, now) =>
      run((db) => {
        const passkey = db.find(passkeys, id)
        if (passkey === undefined || passkey.counter !== expected) return false
        db.update(passkeys, passkey, { counter: next, lastUsedAt: now })
        return true
      }),
    rename: (id, name) => run((db) => db.update(passkeys, db.get(passkeys, id), { name }), "NotFound"),
    delete: (id) => run((db) => db.delete(passkeys, db.get(passkeys, id)), "NotFound"),
    createChallenge: (challenge) =>
      run((db) => {
        db.insert(passkeyChallenges, challenge)
      }),
    takeChallenge: (key, now) =>
      find((db) => {
        const row =
          "id" in key ? db.find(passkeyChallenges, key.id) : db.findBy(passkeyChallenges, "challenge", key.challenge)
        if (row === undefined) return undefined
        db.delete(passkeyChallenges, row)
        return row.expiresAt.getTime() > now.getTime() ? row : undefined
      }),
    deleteExpiredChallenges: (now) =>
      run((db) => db.deleteWhere(passkeyChallenges, (row) => row.expiresAt.getTime() < now.getTime())),
  }
}
