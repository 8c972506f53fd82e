/** The MFA plugin's part of the store conformance suite. */
import { expect } from "vitest"
import type { PluginConformance } from "../../conformance/harness.js"
import { Effect, Option } from "effect"
import { countTrue, expectFailure, expectNone, Fixtures, getSome, race, Seed } from "../../conformance/index.js"
import { newId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import { mfaMigrations } from "./migrations.js"
import {
  type MfaEnrollment,
  MfaEnrollmentId,
  type MfaRecoveryCode,
  MfaStore,
  type NewMfaTicket,
  RecoveryCodeId,
} from "./store.js"
import { MfaStoreLive } from "./stores.js"

const { hash, HOUR, MINUTE, at, nextStamp, sweepEpoch } = Fixtures
const NOW = at(HOUR)

export const makeMfaEnrollment = (user: M.User, overrides: Partial<MfaEnrollment> = {}): MfaEnrollment => {
  const createdAt = nextStamp()
  return {
    id: MfaEnrollmentId.make(),
    appId: user.appId,
    userId: user.id,
    method: "totp",
    secret: "JBSWY3DPEHPK3PXP",
    verified: false,
    lastUsedStep: null,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const makeRecoveryCodes = (user: M.User, count: number): ReadonlyArray<MfaRecoveryCode> =>
  Array.from({ length: count }, () => ({
    id: RecoveryCodeId.make(),
    appId: user.appId,
    userId: user.id,
    codeHash: hash(),
    usedAt: null,
    createdAt: nextStamp(),
  }))

export const makeMfaTicket = (user: M.User, overrides: Partial<NewMfaTicket> = {}): NewMfaTicket => ({
  ticketHash: hash(),
  appId: user.appId,
  userId: user.id,
  expiresAt: at(HOUR + 5 * MINUTE),
  createdAt: nextStamp(),
  ...overrides,
})

export const conformance: PluginConformance<MfaStore> = {
  name: "MfaStore",
  migrations: mfaMigrations,
  layer: MfaStoreLive,
  suite: (h) => {
    h.test(
      "createEnrollment/getEnrollment; one per user and method (Conflict); markVerified; deleteEnrollment",
      Effect.gen(function* () {
        const mfa = yield* MfaStore
        const user = yield* Seed.userInNewTenant
        const enrollment = makeMfaEnrollment(user)
        expect(yield* mfa.createEnrollment(enrollment)).toEqual(enrollment)
        expect(yield* getSome(mfa.getEnrollment(user.id, "totp"))).toEqual(enrollment)
        yield* expectFailure(mfa.createEnrollment(makeMfaEnrollment(user)), "Conflict")
        yield* expectNone(mfa.getEnrollment(newId.user(), "totp"))
        yield* mfa.markVerified(enrollment.id, NOW)
        expect((yield* getSome(mfa.getEnrollment(user.id, "totp"))).verified).toBe(true)
        yield* expectFailure(mfa.markVerified(MfaEnrollmentId.make(), NOW), "NotFound")
        yield* mfa.deleteEnrollment(enrollment.id)
        yield* expectNone(mfa.getEnrollment(user.id, "totp"))
        yield* expectFailure(mfa.deleteEnrollment(enrollment.id), "NotFound")
      }),
    )

    h.test(
      "useStep accepts only steps later than the last used one; 20 concurrent uses of one step: exactly one true",
      Effect.gen(function* () {
        const mfa = yield* MfaStore
        const user = yield* Seed.userInNewTenant
        const { id } = yield* mfa.createEnrollment(makeMfaEnrollment(user, { verified: true }))
        expect(yield* mfa.useStep(id, 1_000, NOW)).toBe(true)
        expect(yield* mfa.useStep(id, 1_000, NOW)).toBe(false)
        expect(yield* mfa.useStep(id, 999, NOW)).toBe(false)
        expect(yield* mfa.useStep(id, 1_001, NOW)).toBe(true)
        expect((yield* getSome(mfa.getEnrollment(user.id, "totp"))).lastUsedStep).toBe(1_001)
        expect(countTrue(yield* race(20, () => mfa.useStep(id, 1_002, NOW)))).toBe(1)
        expect(yield* mfa.useStep(MfaEnrollmentId.make(), 5_000, NOW)).toBe(false)
      }),
    )

    h.test(
      "recovery codes: replaced as a set, each consumed once, counted while unused, scoped to their user",
      Effect.gen(function* () {
        const mfa = yield* MfaStore
        const user = yield* Seed.userInNewTenant
        const codes = makeRecoveryCodes(user, 10)
        yield* mfa.replaceRecoveryCodes(user.id, codes)
        expect(yield* mfa.countUnusedRecoveryCodes(user.id)).toBe(10)
        const [first, second] = [codes[0]!.codeHash, codes[1]!.codeHash]
        expect(yield* mfa.consumeRecoveryCode(user.id, first, NOW)).toBe(true)
        expect(yield* mfa.consumeRecoveryCode(user.id, first, NOW)).toBe(false)
        expect(yield* mfa.consumeRecoveryCode(user.id, hash(), NOW)).toBe(false)
        expect(yield* mfa.consumeRecoveryCode(newId.user(), second, NOW)).toBe(false)
        expect(yield* mfa.countUnusedRecoveryCodes(user.id)).toBe(9)

        yield* mfa.replaceRecoveryCodes(user.id, makeRecoveryCodes(user, 5))
        expect(yield* mfa.countUnusedRecoveryCodes(user.id)).toBe(5)
        expect(yield* mfa.consumeRecoveryCode(user.id, second, NOW)).toBe(false)
        expect(yield* mfa.countUnusedRecoveryCodes(newId.user())).toBe(0)
      }),
    )

    h.test(
      "20 concurrent consumes of one recovery code: exactly one true",
      Effect.gen(function* () {
        const mfa = yield* MfaStore
        const user = yield* Seed.userInNewTenant
        const codes = makeRecoveryCodes(user, 3)
        yield* mfa.replaceRecoveryCodes(user.id, codes)
        const target = codes[1]!.codeHash
        expect(countTrue(yield* race(20, () => mfa.consumeRecoveryCode(user.id, target, NOW)))).toBe(1)
        expect(yield* mfa.countUnusedRecoveryCodes(user.id)).toBe(2)
      }),
    )

    h.test(
      "chargeTicket counts tries up to the limit (None after); consumeTicket once; a used ticket cannot be tried",
      Effect.gen(function* () {
        const mfa = yield* MfaStore
        const user = yield* Seed.userInNewTenant
        const ticket = makeMfaTicket(user)
        const tries = []
        for (let i = 0; i < 4; i++) tries.push(yield* mfa.chargeTicket(ticket, 3))
        expect(tries).toEqual([Option.some(1), Option.some(2), Option.some(3), Option.none()])

        const other = makeMfaTicket(user)
        expect(yield* mfa.chargeTicket(other, 5)).toEqual(Option.some(1))
        expect(yield* mfa.consumeTicket(other.ticketHash, NOW)).toBe(true)
        expect(yield* mfa.consumeTicket(other.ticketHash, NOW)).toBe(false)
        expect(yield* mfa.chargeTicket(other, 5)).toEqual(Option.none())
        expect(yield* mfa.consumeTicket(hash(), NOW)).toBe(false)
      }),
    )

    h.test(
      "20 concurrent tries of one new ticket with 5 allowed: exactly 5 counted (1 to 5); 20 concurrent consumes: one",
      Effect.gen(function* () {
        const mfa = yield* MfaStore
        const user = yield* Seed.userInNewTenant
        const ticket = makeMfaTicket(user)
        const counted = (yield* race(20, () => mfa.chargeTicket(ticket, 5))).flatMap(Option.toArray)
        expect([...counted].sort()).toEqual([1, 2, 3, 4, 5])
        const fresh = makeMfaTicket(user)
        yield* mfa.chargeTicket(fresh, 5)
        expect(countTrue(yield* race(20, () => mfa.consumeTicket(fresh.ticketHash, NOW)))).toBe(1)
      }),
    )

    const epoch = sweepEpoch()
    h.test(
      "deleteExpiredTickets deletes the tickets that expired before now, and counts them",
      Effect.gen(function* () {
        const mfa = yield* MfaStore
        const user = yield* Seed.userInNewTenant
        const expired = [
          makeMfaTicket(user, { expiresAt: epoch(HOUR) }),
          makeMfaTicket(user, { expiresAt: epoch(2 * HOUR) }),
        ]
        const live = makeMfaTicket(user, { expiresAt: epoch(4 * HOUR) })
        for (const ticket of [...expired, live]) yield* mfa.chargeTicket(ticket, 5)
        expect(yield* mfa.deleteExpiredTickets(epoch(3 * HOUR))).toBe(2)
        expect(yield* mfa.deleteExpiredTickets(epoch(3 * HOUR))).toBe(0)
        // A deleted ticket's next try starts a new count; the live one kept its own.
        expect(yield* mfa.chargeTicket(expired[0]!, 5)).toEqual(Option.some(1))
        expect(yield* mfa.chargeTicket(live, 5)).toEqual(Option.some(2))
      }),
    )
  },
  ownedRows: (user) =>
    Effect.gen(function* () {
      const mfa = yield* MfaStore
      yield* mfa.createEnrollment(makeMfaEnrollment(user)).pipe(Effect.orDie)
      yield* mfa.replaceRecoveryCodes(user.id, makeRecoveryCodes(user, 3))
      return Effect.all({
        mfaEnrollment: Effect.map(mfa.getEnrollment(user.id, "totp"), (found) => found._tag === "Some"),
        recoveryCodes: Effect.map(mfa.countUnusedRecoveryCodes(user.id), (n) => n > 0),
      })
    }),
}
