/** `MfaStore` on the memory engine. */
import { byId, cascade, conflict, type MemoryEngine, memoryTable, ownedByApp } from "../../plugin/store.js"
import type { MfaEnrollment, MfaRecoveryCode, MfaStoreShape, MfaTicket } from "./store.js"

const mfaEnrollments = memoryTable<MfaEnrollment>()("mfaEnrollments", {
  entity: "mfa_enrollment",
  primaryKey: byId,
  unique: {
    userMethod: {
      key: (enrollment) => [enrollment.userId, enrollment.method],
      violation: conflict("already enrolled in this method"),
    },
  },
  foreignKeys: [ownedByApp, cascade("userId", "users")],
})

const mfaRecoveryCodes = memoryTable<MfaRecoveryCode>()("mfaRecoveryCodes", {
  entity: "mfa_recovery_code",
  primaryKey: byId,
  unique: {},
  foreignKeys: [ownedByApp, cascade("userId", "users")],
})

const mfaTickets = memoryTable<MfaTicket>()("mfaTickets", {
  entity: "mfa_ticket",
  primaryKey: (ticket) => [ticket.ticketHash],
  unique: {},
  foreignKeys: [ownedByApp, cascade("userId", "users")],
})

export const makeMemoryMfaStore = (engine: MemoryEngine): MfaStoreShape => {
  engine.register(mfaEnrollments)
  engine.register(mfaRecoveryCodes)
  engine.register(mfaTickets)
  const { run, find } = engine
  return {
    createEnrollment: (enrollment) => run((db) => db.insert(mfaEnrollments, enrollment), "Conflict"),
    getEnrollment: (userId, method) => find((db) => db.findBy(mfaEnrollments, "userMethod", userId, method)),
    markVerified: (id, now) =>
      run((db) => {
        db.update(mfaEnrollments, db.get(mfaEnrollments, id), { verified: true, updatedAt: now })
      }, "NotFound"),
    useStep: (id, step, now) =>
      run((db) => {
        const enrollment = db.find(mfaEnrollments, id)
        if (enrollment === undefined || (enrollment.lastUsedStep !== null && step <= enrollment.lastUsedStep)) {
          return false
        }
        db.update(mfaEnrollments, enrollment, { lastUsedStep: step, updatedAt: now })
        return true
      }),
    deleteEnrollment: (id) => run((db) => db.delete(mfaEnrollments, db.get(mfaEnrollments, id)), "NotFound"),
    replaceRecoveryCodes: (userId, codes) =>
      run((db) => {
        db.deleteWhere(mfaRecoveryCodes, (code) => code.userId === userId)
        for (const code of codes) db.insert(mfaRecoveryCodes, code)
      }),
    consumeRecoveryCode: (userId, codeHash, now) =>
      run((db) => {
        const matching = db.select(
          mfaRecoveryCodes,
          (code) => code.userId === userId && code.codeHash === codeHash && code.usedAt === null,
        )
        for (const code of matching) db.update(mfaRecoveryCodes, code, { usedAt: now })
        return matching.length > 0
      }),
    countUnusedRecoveryCodes: (userId) =>
      run((db) => db.count(mfaRecoveryCodes, (code) => code.userId === userId && code.usedAt === null)),
    chargeTicket: (ticket, maxAttempts) =>
      find((db) => {
        const tried = db.find(mfaTickets, ticket.ticketHash)
        if (tried === undefined) return db.insert(mfaTickets, { ...ticket, attempts: 1, consumedAt: null }).attempts
        if (tried.attempts >= maxAttempts || tried.consumedAt !== null) return undefined
        return db.update(mfaTickets, tried, { attempts: tried.attempts + 1 }).attempts
      }),
    consumeTicket: (ticketHash, now) =>
      run((db) => {
        const ticket = db.find(mfaTickets, ticketHash)
        if (ticket === undefined || ticket.consumedAt !== null) return false
        db.update(mfaTickets, ticket, { consumedAt: now })
        return true
      }),
    deleteExpiredTickets: (now) =>
      run((db) => db.deleteWhere(mfaTickets, (ticket) => ticket.expiresAt.getTime() < now.getTime())),
  }
}
