/** `MfaStore` on SQL. */
import { Effect, Option } from "effect"
import { Sql } from "../../plugin/store.js"
import { MfaEnrollment, MfaRecoveryCode, MfaStore } from "./store.js"

const MfaEnrollments = Sql.tableOf("authsome_mfa_enrollments", MfaEnrollment, { lastUsedStep: "bigint" })

const MfaRecoveryCodes = Sql.tableOf("authsome_mfa_recovery_codes", MfaRecoveryCode)

export const makeSqlMfaStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const transaction = Sql.transaction(sql)
  // Every password sign-in asks for the user's authenticator: prepared once per connection.
  const enrollmentOf = yield* Sql.preparedRead(
    "authsome_mfa_enrollment_of",
    (userId: string, method: string) =>
      sql`SELECT ${MfaEnrollments.select} FROM authsome_mfa_enrollments
          WHERE user_id = ${userId} AND method = ${method}`,
    ["", ""],
  )
  return MfaStore.of({
    createEnrollment: (enrollment) =>
      sql`${Sql.insertInto(sql, MfaEnrollments, [enrollment])} RETURNING ${MfaEnrollments.select}`.pipe(
        Sql.onUniqueViolation(Sql.conflict),
        Sql.returned(MfaEnrollments),
      ),
    getEnrollment: (userId, method) => enrollmentOf(userId, method).pipe(Sql.maybe(MfaEnrollments)),
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
    // The first try inserts the row; later ones increment it only while tries remain (the row lock serialises them).
    chargeTicket: (ticket, maxAttempts) =>
      sql`INSERT INTO authsome_mfa_tickets
            (ticket_hash, app_id, user_id, attempts, consumed_at, expires_at, created_at)
          VALUES (${ticket.ticketHash}, ${ticket.appId}, ${ticket.userId}, 1, NULL, ${ticket.expiresAt},
            ${ticket.createdAt})
          ON CONFLICT (ticket_hash) DO UPDATE SET attempts = authsome_mfa_tickets.attempts + 1
          WHERE authsome_mfa_tickets.attempts < ${maxAttempts} AND authsome_mfa_tickets.consumed_at IS NULL
          RETURNING attempts`.pipe(
        Sql.dieOnSqlError,
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (row) => Number(row.attempts))),
      ),
    consumeTicket: (ticketHash, now) =>
      sql`UPDATE authsome_mfa_tickets SET consumed_at = ${now}
          WHERE ticket_hash = ${ticketHash} AND consumed_at IS NULL RETURNING 1`.pipe(Sql.changed),
    deleteExpiredTickets: (now) =>
      sql`WITH deleted AS (DELETE FROM authsome_mfa_tickets WHERE expires_at < ${now} RETURNING 1)
          SELECT count(*) AS count FROM deleted`.pipe(Sql.count),
  })
})
