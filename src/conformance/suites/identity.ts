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

const activeIds = (tenant: Tenant, email: string, kind: M.VerificationKind, limit = 10) =>
  Effect.flatMap(VerificationStore, (store) =>
    store.listActive(tenant.app.id, tenant.env.id, email, kind, NOW, limit),
  ).pipe(Effect.map((found) => found.map((v) => v.id)))

/** The newest active one's id, or null. */
const activeId = (tenant: Tenant, email: string, kind: M.VerificationKind) =>
  Effect.map(activeIds(tenant, email, kind, 1), (ids) => ids[0] ?? null)

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
      "a pending sign-up round-trips with its verification",
      Effect.gen(function* () {
        const verifications = yield* VerificationStore
        const tenant = yield* seedTenant()
        const signup: M.PendingSignUp = {
          method: "password",
          userId: newId.user(),
          data: {
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            first_name: "Ada",
            metadata: { a: [1] },
          },
        }
        const verification = yield* seedVerification(tenant, "pending@example.com", { signup })
        expect(verification.signup).toEqual(signup)
        expect((yield* getSome(verifications.findByTokenHash(verification.tokenHash))).signup).toEqual(signup)
        const [listed] = yield* verifications.listActive(
          tenant.app.id,
          tenant.env.id,
          "pending@example.com",
          "email",
          NOW,
          1,
        )
        expect(listed?.signup).toEqual(signup)
      }),
    )

    h.test(
      "listActive returns the unconsumed, unexpired ones of that kind for the email in that environment, newest first",
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
        expect(yield* activeIds(tenant, email, "email")).toEqual([newer.id, older.id])
        expect(yield* activeIds(tenant, email, "email", 1)).toEqual([newer.id])
        // Attempts used up do not hide it: it still answers for its code until it expires or is voided.
        yield* verifications.create(makeVerification(tenant, "spent@example.com", { attempts: 5 }))
        expect((yield* activeIds(tenant, "spent@example.com", "email")).length).toBe(1)
        yield* verifications.consume(newer.id, NOW)
        expect(yield* activeId(tenant, email, "email")).toBe(older.id)
      }),
    )

    h.test(
      "claimAttempt takes attempts up to the cap, then None; consumed, expired and unknown ones have none",
      Effect.gen(function* () {
        const verifications = yield* VerificationStore
        const tenant = yield* seedTenant()
        const verification = yield* seedVerification(tenant, "attempts@example.com")
        for (let i = 1; i <= 3; i++)
          expect(yield* verifications.claimAttempt(verification.id, 3, NOW)).toEqual(Option.some(i))
        yield* expectNone(verifications.claimAttempt(verification.id, 3, NOW))
        expect((yield* getSome(verifications.findByTokenHash(verification.tokenHash))).attempts).toBe(3)
        // A higher cap (another configuration) leaves room again: the count is what is stored.
        expect(yield* verifications.claimAttempt(verification.id, 4, NOW)).toEqual(Option.some(4))

        const consumed = yield* seedVerification(tenant, "consumed@example.com")
        yield* verifications.consume(consumed.id, NOW)
        yield* expectNone(verifications.claimAttempt(consumed.id, 5, NOW))
        const expired = yield* seedVerification(tenant, "expired@example.com", { expiresAt: NOW })
        yield* expectNone(verifications.claimAttempt(expired.id, 5, NOW))
        yield* expectNone(verifications.claimAttempt(newId.verification(), 5, NOW))
      }),
    )

    h.test(
      "claimAttempt under contention: of 30 concurrent claims with a cap of 5, exactly 5 succeed, counting 1 to 5",
      Effect.gen(function* () {
        const verifications = yield* VerificationStore
        const verification = yield* seedVerification(yield* seedTenant(), "contended@example.com")
        const claims = yield* race(30, () => verifications.claimAttempt(verification.id, 5, NOW))
        const granted = claims.filter(Option.isSome).map((claim) => claim.value)
        expect([...granted].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5])
        expect((yield* getSome(verifications.findByTokenHash(verification.tokenHash))).attempts).toBe(5)
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

    h.test(
      "deleteByEmail removes every verification of the email in that environment, consumed or not, and nothing else",
      Effect.gen(function* () {
        const verifications = yield* VerificationStore
        const tenant = yield* seedTenant()
        const staging = yield* seedEnv(tenant)
        const email = "gone@example.com"
        const consumed = yield* seedVerification(tenant, email)
        yield* verifications.consume(consumed.id, NOW)
        yield* seedVerification(tenant, email)
        yield* seedVerification(tenant, email, { kind: "magic_link" })
        const elsewhere = yield* seedVerification(staging, email)
        const other = yield* seedVerification(tenant, "stays@example.com")
        expect(yield* verifications.deleteByEmail(tenant.app.id, tenant.env.id, email)).toBe(3)
        yield* expectNone(verifications.findByTokenHash(consumed.tokenHash))
        expect(yield* activeIds(tenant, email, "email")).toEqual([])
        expect(yield* activeIds(tenant, email, "magic_link")).toEqual([])
        expect(yield* activeId(staging, email, "email")).toBe(elsewhere.id)
        expect(yield* activeId(tenant, "stays@example.com", "email")).toBe(other.id)
        expect(yield* verifications.deleteByEmail(tenant.app.id, tenant.env.id, email)).toBe(0)
      }),
    )

    h.test(
      "deleteExpired removes the verifications that expired before now, consumed or not, and keeps the rest",
      Effect.gen(function* () {
        const verifications = yield* VerificationStore
        const tenant = yield* seedTenant()
        const expired = yield* seedVerification(tenant, "old@example.com", { expiresAt: at(30 * MINUTE) })
        const expiredConsumed = yield* seedVerification(tenant, "old@example.com", { expiresAt: at(30 * MINUTE) })
        yield* verifications.consume(expiredConsumed.id, at(10 * MINUTE))
        const live = yield* seedVerification(tenant, "old@example.com")
        expect(yield* verifications.deleteExpired(NOW)).toBeGreaterThanOrEqual(2)
        yield* expectNone(verifications.findByTokenHash(expired.tokenHash))
        yield* expectNone(verifications.findByTokenHash(expiredConsumed.tokenHash))
        expect((yield* getSome(verifications.findByTokenHash(live.tokenHash))).id).toBe(live.id)
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

    h.test(
      "deleteExpired removes the resets that expired before now and keeps the rest",
      Effect.gen(function* () {
        const resets = yield* PasswordResetStore
        const user = yield* seedUser(yield* seedTenant())
        const expired = yield* resets.create(makePasswordReset(user, { expiresAt: at(30 * MINUTE) }))
        const live = yield* resets.create(makePasswordReset(user, { expiresAt: at(2 * HOUR) }))
        expect(yield* resets.deleteExpired(NOW)).toBeGreaterThanOrEqual(1)
        yield* expectNone(resets.findByTokenHash(expired.tokenHash))
        expect((yield* getSome(resets.findByTokenHash(live.tokenHash))).id).toBe(live.id)
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
