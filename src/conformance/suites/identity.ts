import { Effect, Option } from "effect"
import { describe, expect } from "vitest"
import { newId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import { DeviceStore, PasswordResetStore, VerificationStore } from "../../services/store/index.js"
import { at, HOUR, hash, MINUTE, makeDevice, makePasswordReset, makeVerification, type Tenant } from "../fixtures.js"
import { countTrue, expectFailure, expectNone, getSome, type Harness, race } from "../harness.js"
import { seedEnv, seedTenant, seedUser } from "../seed.js"

const NOW = at(HOUR)

const seedVerification = (tenant: Tenant, email: string, overrides: Partial<M.Verification> = {}) =>
  Effect.flatMap(VerificationStore, (store) => store.create(makeVerification(tenant, email, overrides)))

const activeId = (tenant: Tenant, email: string, kind: M.VerificationKind) =>
  Effect.flatMap(VerificationStore, (store) => store.findActive(tenant.app.id, tenant.env.id, email, kind, NOW)).pipe(
    Effect.map(Option.map((v) => v.id)),
    Effect.map(Option.getOrNull),
  )

const seedReset = (user: M.User) => Effect.flatMap(PasswordResetStore, (store) => store.create(makePasswordReset(user)))

export const identitySuite = (h: Harness) => {
  describe("VerificationStore", () => {
    h.test(
      "create returns the verification; findByTokenHash finds it; unknown hashes are None",
      Effect.gen(function* () {
        const verifications = yield* VerificationStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const verification = makeVerification(tenant, user.email, {
          userId: user.id,
          kind: "magic_link",
          codeHash: null,
        })
        expect(yield* verifications.create(verification)).toEqual(verification)
        expect(yield* getSome(verifications.findByTokenHash(verification.tokenHash))).toEqual(verification)
        yield* expectNone(verifications.findByTokenHash(hash()))
      }),
    )

    h.test(
      "findActive returns the newest unconsumed, unexpired one of that kind for the email in that environment",
      Effect.gen(function* () {
        const verifications = yield* VerificationStore
        const tenant = yield* seedTenant()
        const staging = yield* seedEnv(tenant)
        const email = "verify@example.com"
        const older = yield* seedVerification(tenant, email)
        const newer = yield* seedVerification(tenant, email)
        const link = yield* seedVerification(tenant, email, { kind: "magic_link" })
        yield* seedVerification(tenant, email, { expiresAt: at(30 * MINUTE) })
        yield* seedVerification(tenant, "someone.else@example.com")
        const inStaging = yield* seedVerification(staging, email)

        expect(yield* activeId(tenant, email, "email")).toBe(newer.id)
        expect(yield* activeId(tenant, email, "magic_link")).toBe(link.id)
        expect(yield* activeId(staging, email, "email")).toBe(inStaging.id)
        expect(yield* activeId(tenant, "nobody@example.com", "email")).toBeNull()
        yield* verifications.consume(newer.id, NOW)
        expect(yield* activeId(tenant, email, "email")).toBe(older.id)
      }),
    )

    h.test(
      "recordAttempt adds one failed attempt and returns the new count",
      Effect.gen(function* () {
        const verifications = yield* VerificationStore
        const verification = yield* seedVerification(yield* seedTenant(), "attempts@example.com")
        expect(yield* verifications.recordAttempt(verification.id)).toBe(1)
        expect(yield* verifications.recordAttempt(verification.id)).toBe(2)
        expect((yield* getSome(verifications.findByTokenHash(verification.tokenHash))).attempts).toBe(2)
      }),
    )

    h.test(
      "consume is true once and stamps consumedAt; 20 concurrent consumes: exactly one true",
      Effect.gen(function* () {
        const verifications = yield* VerificationStore
        const tenant = yield* seedTenant()
        const once = yield* seedVerification(tenant, "once@example.com")
        expect(yield* verifications.consume(once.id, NOW)).toBe(true)
        expect(yield* verifications.consume(once.id, NOW)).toBe(false)
        expect((yield* getSome(verifications.findByTokenHash(once.tokenHash))).consumedAt).toEqual(NOW)
        expect(yield* verifications.consume(newId.verification(), NOW)).toBe(false)

        const raced = yield* seedVerification(tenant, "race@example.com")
        expect(countTrue(yield* race(20, () => verifications.consume(raced.id, NOW)))).toBe(1)
      }),
    )

    h.test(
      "invalidate voids every unconsumed verification of that kind for the email, and nothing else",
      Effect.gen(function* () {
        const verifications = yield* VerificationStore
        const tenant = yield* seedTenant()
        const email = "void@example.com"
        const voided = [yield* seedVerification(tenant, email), yield* seedVerification(tenant, email)]
        const link = yield* seedVerification(tenant, email, { kind: "magic_link" })
        const other = yield* seedVerification(tenant, "keep@example.com")
        yield* verifications.invalidate(tenant.app.id, tenant.env.id, email, "email", NOW)
        expect(yield* activeId(tenant, email, "email")).toBeNull()
        for (const v of voided) expect(yield* verifications.consume(v.id, NOW)).toBe(false)
        expect(yield* activeId(tenant, email, "magic_link")).toBe(link.id)
        expect(yield* activeId(tenant, "keep@example.com", "email")).toBe(other.id)
      }),
    )
  })

  describe("PasswordResetStore", () => {
    h.test(
      "create returns the reset; findByTokenHash finds it; unknown hashes are None",
      Effect.gen(function* () {
        const resets = yield* PasswordResetStore
        const user = yield* seedUser(yield* seedTenant())
        const reset = makePasswordReset(user)
        expect(yield* resets.create(reset)).toEqual(reset)
        expect(yield* getSome(resets.findByTokenHash(reset.tokenHash))).toEqual(reset)
        yield* expectNone(resets.findByTokenHash(hash()))
      }),
    )

    h.test(
      "consume is true once and stamps consumedAt; 20 concurrent consumes: exactly one true",
      Effect.gen(function* () {
        const resets = yield* PasswordResetStore
        const user = yield* seedUser(yield* seedTenant())
        const once = yield* seedReset(user)
        expect(yield* resets.consume(once.id, NOW)).toBe(true)
        expect(yield* resets.consume(once.id, NOW)).toBe(false)
        expect((yield* getSome(resets.findByTokenHash(once.tokenHash))).consumedAt).toEqual(NOW)
        expect(yield* resets.consume(newId.passwordReset(), NOW)).toBe(false)

        const raced = yield* seedReset(user)
        expect(countTrue(yield* race(20, () => resets.consume(raced.id, NOW)))).toBe(1)
      }),
    )

    h.test(
      "invalidateForUser voids the user's unconsumed resets only",
      Effect.gen(function* () {
        const resets = yield* PasswordResetStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const bystander = yield* seedUser(tenant)
        const voided = [yield* seedReset(user), yield* seedReset(user)]
        const kept = yield* seedReset(bystander)
        yield* resets.invalidateForUser(user.id, NOW)
        for (const r of voided) expect(yield* resets.consume(r.id, NOW)).toBe(false)
        expect(yield* resets.consume(kept.id, NOW)).toBe(true)
      }),
    )
  })

  describe("DeviceStore", () => {
    h.test(
      "upsert inserts, then refreshes lastSeenAt and ipAddress of the row for the same user and fingerprint",
      Effect.gen(function* () {
        const devices = yield* DeviceStore
        const user = yield* seedUser(yield* seedTenant())
        const device = makeDevice(user)
        expect(yield* devices.upsert(device)).toEqual(device)
        expect(yield* devices.get(device.id)).toEqual(device)
        const seenAgain = makeDevice(user, {
          fingerprint: device.fingerprint,
          lastSeenAt: NOW,
          ipAddress: "198.51.100.9",
        })
        const refreshed = yield* devices.upsert(seenAgain)
        expect(refreshed).toMatchObject({ id: device.id, userId: user.id, ipAddress: "198.51.100.9", lastSeenAt: NOW })
        expect(yield* devices.get(device.id)).toEqual(refreshed)
        expect(yield* devices.listByUser(user.id)).toEqual([refreshed])
        yield* expectFailure(devices.get(seenAgain.id), "NotFound")
      }),
    )

    h.test(
      "listByUser is most recently seen first and only the user's",
      Effect.gen(function* () {
        const devices = yield* DeviceStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const upsert = (lastSeenAt: Date) => devices.upsert(makeDevice(user, { lastSeenAt }))
        const a = yield* upsert(at(HOUR))
        const b = yield* upsert(at(3 * HOUR))
        const c = yield* upsert(at(2 * HOUR))
        yield* devices.upsert(makeDevice(yield* seedUser(tenant)))
        expect((yield* devices.listByUser(user.id)).map((d) => d.id)).toEqual([b.id, c.id, a.id])
      }),
    )

    h.test(
      "setTrusted flips the flag; delete removes the device; unknown ids are NotFound",
      Effect.gen(function* () {
        const devices = yield* DeviceStore
        const user = yield* seedUser(yield* seedTenant())
        const device = yield* devices.upsert(makeDevice(user))
        expect((yield* devices.setTrusted(device.id, true, NOW)).trusted).toBe(true)
        expect((yield* devices.get(device.id)).trusted).toBe(true)
        expect((yield* devices.setTrusted(device.id, false, NOW)).trusted).toBe(false)
        yield* expectFailure(devices.setTrusted(newId.device(), true, NOW), "NotFound")
        yield* devices.delete(device.id)
        yield* expectFailure(devices.get(device.id), "NotFound")
        yield* expectFailure(devices.delete(device.id), "NotFound")
        expect(yield* devices.listByUser(user.id)).toEqual([])
      }),
    )
  })
}
