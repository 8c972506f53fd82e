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
import type { Passkey, PasskeyStoreShape } from "./store.js"

const passkeys = memoryTable<Passkey>()("passkeys", {
  entity: "passkey",
  primaryKey: byId,
  unique: {
    credentialId: { key: (passkey) => [passkey.credentialId], violation: conflict("credential already registered") },
  },
  foreignKeys: [ownedByApp, cascade("userId", "users")],
})

export const makeMemoryPasskeyStore = (engine: MemoryEngine): PasskeyStoreShape => {
  engine.register(passkeys)
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
    delete: (id) => run((db) => db.delete(passkeys, db.get(passkeys, id)), "NotFound"),
  }
}
