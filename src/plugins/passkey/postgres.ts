/** `PasskeyStore` on SQL. */
import { Effect } from "effect"
import { Sql } from "../../plugin/store.js"
import { Passkey, PasskeyChallenge, PasskeyStore } from "./store.js"

const Passkeys = Sql.tableOf("authsome_passkeys", Passkey, { counter: "bigint" })

const PasskeyChallenges = Sql.tableOf("authsome_passkey_challenges", PasskeyChallenge)

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
    rename: (id, name) =>
      sql`UPDATE authsome_passkeys SET name = ${name} WHERE id = ${id} RETURNING ${Passkeys.select}`.pipe(
        Sql.one(Passkeys, "passkey"),
      ),
    delete: (id) => sql`DELETE FROM authsome_passkeys WHERE id = ${id} RETURNING 1`.pipe(Sql.found("passkey")),
    createChallenge: (challenge) => sql`${Sql.insertInto(sql, PasskeyChallenges, [challenge])}`.pipe(Sql.exec),
    // Deleting is what makes a challenge single-use; an expired one is deleted as well, and not returned.
    takeChallenge: (key, now) =>
      sql`WITH taken AS (
            DELETE FROM authsome_passkey_challenges
            WHERE ${"id" in key ? sql`id = ${key.id}` : sql`challenge = ${key.challenge}`}
            RETURNING ${PasskeyChallenges.select}
          )
          SELECT ${PasskeyChallenges.select} FROM taken WHERE expires_at > ${now}`.pipe(Sql.maybe(PasskeyChallenges)),
    deleteExpiredChallenges: (now) =>
      sql`WITH deleted AS (DELETE FROM authsome_passkey_challenges WHERE expires_at < ${now} RETURNING 1)
          SELECT count(*) AS count FROM deleted`.pipe(Sql.count),
  })
})
