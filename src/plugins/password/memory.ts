/** `PasswordHashStore` on the memory engine. */
import { cascade, type MemoryEngine, memoryTable, ownedByApp, replacingAllBut } from "../../plugin/store.js"
import type { PasswordHash, PasswordHashStoreShape } from "./store.js"

const passwordHashes = memoryTable<PasswordHash>()("passwordHashes", {
  entity: "password_hash",
  primaryKey: (hash) => [hash.userId],
  unique: {},
  foreignKeys: [cascade("userId", "users"), ownedByApp],
})

export const makeMemoryPasswordHashStore = (engine: MemoryEngine): PasswordHashStoreShape => {
  engine.register(passwordHashes)
  const { run, find } = engine
  return {
    get: (userId) => find((db) => db.find(passwordHashes, userId)),
    set: (hash) =>
      run((db) => {
        db.upsert(passwordHashes, "primaryKey", hash, replacingAllBut(hash, "createdAt"))
      }),
    delete: (userId) =>
      run((db) => {
        const hash = db.find(passwordHashes, userId)
        if (hash !== undefined) db.delete(passwordHashes, hash)
      }),
  }
}
