/** `MfaStore` on SQL. */
import { Effect } from "effect"
import { Sql } from "../../plugin/store.js"
import { MfaEnrollment, MfaRecoveryCode, MfaStore } from "./store.js"

const MfaEnrollments = Sql.tableOf("authsome_mfa_enrollments", MfaEnrollment, { lastUsedStep: "bigint" })

const MfaRecoveryCodes = Sql.tableOf("authsome_mfa_recovery_codes", MfaRecoveryCode)

export const makeSqlMfaStore = Effect.gen(function* () {
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
