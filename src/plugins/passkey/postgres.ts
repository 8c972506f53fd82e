/** `PasskeyStore` on SQL. */
import { Effect } from "effect"
import { Sql } from "../../plugin/store.js"
import { Passkey, PasskeyStore } from "./store.js"

const Passkeys = Sql.tableOf("authsome_passkeys", Passkey, { counter: "bigint" })

export const makeSqlPasskeyStore = Effect.gen(function* () {
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
