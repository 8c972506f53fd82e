/** `PasswordHashStore` on SQL. */
import { Effect } from "effect"
import { Sql } from "../../plugin/store.js"
import { PasswordHash, PasswordHashStore } from "./store.js"

const PasswordHashes = Sql.tableOf("authsome_password_hashes", PasswordHash)

export const makeSqlPasswordHashStore = Effect.gen(function* () {
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
          ON CONFLICT (user_id) DO UPDATE SET ${Sql.fromExcluded<PasswordHash>("hash", "updatedAt")}`.pipe(Sql.exec),
    delete: (userId) => sql`DELETE FROM authsome_password_hashes WHERE user_id = ${userId}`.pipe(Sql.exec),
  })
})
