import { Effect } from "effect"
import { describe, expect } from "vitest"
import { newId } from "../../../src/domain/ids.js"
import { MfaStore, OAuthConnectionStore, PasskeyStore, PasswordHashStore } from "../../../src/services/store/index.js"
import {
  at,
  hash,
  HOUR,
  makeMfaEnrollment,
  makeOAuthConnection,
  makePasskey,
  makePasswordHash,
  makeRecoveryCodes,
} from "../fixtures.js"
import { countTrue, expectFailure, expectNone, getSome, type Harness, race } from "../harness.js"
import { seedTenant, seedUser } from "../seed.js"

const NOW = at(HOUR)

const seedUserInNewTenant = Effect.flatMap(seedTenant(), (tenant) => seedUser(tenant))

export const pluginsSuite = (h: Harness) => {
  describe("PasswordHashStore", () => {
    h.test(
      "set inserts, then replaces the hash keeping createdAt; get; delete (also when absent)",
      Effect.gen(function* () {
        const hashes = yield* PasswordHashStore
        const user = yield* seedUserInNewTenant
        yield* expectNone(hashes.get(user.id))
        const first = makePasswordHash(user)
        yield* hashes.set(first)
        expect(yield* getSome(hashes.get(user.id))).toEqual(first)
        const second = makePasswordHash(user, { createdAt: NOW, updatedAt: NOW })
        yield* hashes.set(second)
        expect(yield* getSome(hashes.get(user.id))).toEqual({ ...second, createdAt: first.createdAt })
        yield* hashes.delete(user.id)
        yield* expectNone(hashes.get(user.id))
        yield* hashes.delete(user.id)
      }),
    )
  })

  describe("MfaStore", () => {
    h.test(
      "createEnrollment/getEnrollment; one per user and method (Conflict); markVerified; deleteEnrollment",
      Effect.gen(function* () {
        const mfa = yield* MfaStore
        const user = yield* seedUserInNewTenant
        const enrollment = makeMfaEnrollment(user)
        expect(yield* mfa.createEnrollment(enrollment)).toEqual(enrollment)
        expect(yield* getSome(mfa.getEnrollment(user.id, "totp"))).toEqual(enrollment)
        yield* expectFailure(mfa.createEnrollment(makeMfaEnrollment(user)), "Conflict")
        yield* expectNone(mfa.getEnrollment(newId.user(), "totp"))
        yield* mfa.markVerified(enrollment.id, NOW)
        expect((yield* getSome(mfa.getEnrollment(user.id, "totp"))).verified).toBe(true)
        yield* expectFailure(mfa.markVerified(newId.mfaEnrollment(), NOW), "NotFound")
        yield* mfa.deleteEnrollment(enrollment.id)
        yield* expectNone(mfa.getEnrollment(user.id, "totp"))
        yield* expectFailure(mfa.deleteEnrollment(enrollment.id), "NotFound")
      }),
    )

    h.test(
      "useStep accepts only steps later than the last used one; 20 concurrent uses of one step: exactly one true",
      Effect.gen(function* () {
        const mfa = yield* MfaStore
        const user = yield* seedUserInNewTenant
        const { id } = yield* mfa.createEnrollment(makeMfaEnrollment(user, { verified: true }))
        expect(yield* mfa.useStep(id, 1_000, NOW)).toBe(true)
        expect(yield* mfa.useStep(id, 1_000, NOW)).toBe(false)
        expect(yield* mfa.useStep(id, 999, NOW)).toBe(false)
        expect(yield* mfa.useStep(id, 1_001, NOW)).toBe(true)
        expect((yield* getSome(mfa.getEnrollment(user.id, "totp"))).lastUsedStep).toBe(1_001)
        expect(countTrue(yield* race(20, () => mfa.useStep(id, 1_002, NOW)))).toBe(1)
        expect(yield* mfa.useStep(newId.mfaEnrollment(), 5_000, NOW)).toBe(false)
      }),
    )

    h.test(
      "recovery codes: replaced as a set, each consumed once, counted while unused, scoped to their user",
      Effect.gen(function* () {
        const mfa = yield* MfaStore
        const user = yield* seedUserInNewTenant
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
        const user = yield* seedUserInNewTenant
        const codes = makeRecoveryCodes(user, 3)
        yield* mfa.replaceRecoveryCodes(user.id, codes)
        const target = codes[1]!.codeHash
        expect(countTrue(yield* race(20, () => mfa.consumeRecoveryCode(user.id, target, NOW)))).toBe(1)
        expect(yield* mfa.countUnusedRecoveryCodes(user.id)).toBe(2)
      }),
    )
  })

  describe("PasskeyStore", () => {
    h.test(
      "create/get/findByCredentialId; credential ids are unique (Conflict); listByUser is newest first",
      Effect.gen(function* () {
        const passkeys = yield* PasskeyStore
        const user = yield* seedUserInNewTenant
        const passkey = makePasskey(user, { aaguid: "00000000-0000-0000-0000-000000000000", counter: 7 })
        expect(yield* passkeys.create(passkey)).toEqual(passkey)
        expect(yield* passkeys.get(passkey.id)).toEqual(passkey)
        expect(yield* getSome(passkeys.findByCredentialId(passkey.credentialId))).toEqual(passkey)
        yield* expectFailure(passkeys.create(makePasskey(user, { credentialId: passkey.credentialId })), "Conflict")
        const newer = yield* passkeys.create(makePasskey(user, { transports: [] }))
        yield* passkeys.create(makePasskey(yield* seedUserInNewTenant))
        expect(yield* passkeys.listByUser(user.id)).toEqual([newer, passkey])
        yield* expectFailure(passkeys.get(newId.passkey()), "NotFound")
        yield* expectNone(passkeys.findByCredentialId(hash()))
      }),
    )

    h.test(
      "updateCounter is a compare-and-swap on the signature counter; delete (NotFound after)",
      Effect.gen(function* () {
        const passkeys = yield* PasskeyStore
        const user = yield* seedUserInNewTenant
        const passkey = yield* passkeys.create(makePasskey(user))
        expect(yield* passkeys.updateCounter(passkey.id, 0, 5, NOW)).toBe(true)
        expect(yield* passkeys.updateCounter(passkey.id, 0, 6, NOW)).toBe(false)
        expect((yield* passkeys.get(passkey.id)).counter).toBe(5)
        expect(yield* passkeys.updateCounter(newId.passkey(), 0, 1, NOW)).toBe(false)
        yield* passkeys.delete(passkey.id)
        yield* expectFailure(passkeys.get(passkey.id), "NotFound")
        yield* expectFailure(passkeys.delete(passkey.id), "NotFound")
      }),
    )
  })

  describe("OAuthConnectionStore", () => {
    h.test(
      "create/findByProviderUser; unique per app, provider and provider user (Conflict); listByUser oldest first",
      Effect.gen(function* () {
        const connections = yield* OAuthConnectionStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const github = makeOAuthConnection(user, { refreshToken: "ghr_refresh", expiresAt: at(8 * HOUR) })
        expect(yield* connections.create(github)).toEqual(github)
        expect(yield* getSome(connections.findByProviderUser(tenant.app.id, "github", github.providerUserId))).toEqual(
          github,
        )
        const google = yield* connections.create(makeOAuthConnection(user, { provider: "google" }))
        const sameAccount = { provider: "github", providerUserId: github.providerUserId }
        yield* expectFailure(connections.create(makeOAuthConnection(yield* seedUser(tenant), sameAccount)), "Conflict")
        yield* connections.create(makeOAuthConnection(yield* seedUserInNewTenant, sameAccount))
        expect(yield* connections.listByUser(user.id)).toEqual([github, google])
        yield* expectNone(connections.findByProviderUser(tenant.app.id, "google", github.providerUserId))
      }),
    )

    h.test(
      "updateTokens replaces the tokens and stamps updatedAt; delete by user and provider; NotFound",
      Effect.gen(function* () {
        const connections = yield* OAuthConnectionStore
        const user = yield* seedUserInNewTenant
        const connection = yield* connections.create(makeOAuthConnection(user))
        const tokens = { accessToken: "gho_new", refreshToken: "ghr_new", expiresAt: at(9 * HOUR), scope: "user:email" }
        const updated = yield* connections.updateTokens(connection.id, tokens, NOW)
        expect(updated).toEqual({ ...connection, ...tokens, updatedAt: NOW })
        expect(yield* connections.listByUser(user.id)).toEqual([updated])
        yield* expectFailure(connections.updateTokens(newId.oauthConnection(), tokens, NOW), "NotFound")
        yield* connections.delete(user.id, "github")
        yield* expectNone(connections.findByProviderUser(user.appId, "github", connection.providerUserId))
        yield* expectFailure(connections.delete(user.id, "github"), "NotFound")
      }),
    )
  })
}
