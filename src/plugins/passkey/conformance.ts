/** The passkey plugin's part of the store conformance suite. */
import { Effect } from "effect"
import { expect } from "vitest"
import type { PluginConformance } from "../../conformance/harness.js"
import { countTrue, expectFailure, expectNone, Fixtures, getSome, race, Seed } from "../../conformance/index.js"
import type * as M from "../../domain/models.js"
import { passkeyMigrations } from "./migrations.js"
import { type Passkey, type PasskeyChallenge, PasskeyChallengeId, PasskeyId, PasskeyStore } from "./store.js"
import { PasskeyStoreLive } from "./stores.js"

const { hash, HOUR, MINUTE, at, nextStamp, sweepEpoch } = Fixtures
const NOW = at(HOUR)

export const makePasskey = (user: M.User, overrides: Partial<Passkey> = {}): Passkey => ({
  id: PasskeyId.make(),
  appId: user.appId,
  userId: user.id,
  name: "YubiKey",
  credentialId: hash(),
  publicKey: hash(),
  counter: 0,
  transports: ["usb", "nfc"],
  deviceType: "singleDevice",
  backedUp: false,
  aaguid: null,
  lastUsedAt: null,
  createdAt: nextStamp(),
  ...overrides,
})

export const makePasskeyChallenge = (user: M.User, overrides: Partial<PasskeyChallenge> = {}): PasskeyChallenge => ({
  id: PasskeyChallengeId.make(),
  appId: user.appId,
  userId: user.id,
  kind: "registration",
  challenge: hash(),
  expiresAt: at(HOUR + 5 * MINUTE),
  createdAt: nextStamp(),
  ...overrides,
})

export const conformance: PluginConformance<PasskeyStore> = {
  name: "PasskeyStore",
  migrations: passkeyMigrations,
  layer: PasskeyStoreLive,
  suite: (h) => {
    h.test(
      "create/get/findByCredentialId; credential ids are unique (Conflict); listByUser is newest first",
      Effect.gen(function* () {
        const passkeys = yield* PasskeyStore
        const user = yield* Seed.userInNewTenant
        const passkey = makePasskey(user, { aaguid: "00000000-0000-0000-0000-000000000000", counter: 7 })
        expect(yield* passkeys.create(passkey)).toEqual(passkey)
        expect(yield* passkeys.get(passkey.id)).toEqual(passkey)
        expect(yield* getSome(passkeys.findByCredentialId(passkey.credentialId))).toEqual(passkey)
        yield* expectFailure(passkeys.create(makePasskey(user, { credentialId: passkey.credentialId })), "Conflict")
        const newer = yield* passkeys.create(makePasskey(user, { transports: [] }))
        yield* passkeys.create(makePasskey(yield* Seed.userInNewTenant))
        expect(yield* passkeys.listByUser(user.id)).toEqual([newer, passkey])
        yield* expectFailure(passkeys.get(PasskeyId.make()), "NotFound")
        yield* expectNone(passkeys.findByCredentialId(hash()))
      }),
    )

    h.test(
      "updateCounter is a compare-and-swap on the signature counter; delete (NotFound after)",
      Effect.gen(function* () {
        const passkeys = yield* PasskeyStore
        const user = yield* Seed.userInNewTenant
        const passkey = yield* passkeys.create(makePasskey(user))
        expect(yield* passkeys.updateCounter(passkey.id, 0, 5, NOW)).toBe(true)
        expect(yield* passkeys.updateCounter(passkey.id, 0, 6, NOW)).toBe(false)
        expect((yield* passkeys.get(passkey.id)).counter).toBe(5)
        expect(yield* passkeys.updateCounter(PasskeyId.make(), 0, 1, NOW)).toBe(false)
        yield* passkeys.delete(passkey.id)
        yield* expectFailure(passkeys.get(passkey.id), "NotFound")
        yield* expectFailure(passkeys.delete(passkey.id), "NotFound")
      }),
    )

    h.test(
      "rename changes the name only (NotFound for an unknown id)",
      Effect.gen(function* () {
        const passkeys = yield* PasskeyStore
        const passkey = yield* passkeys.create(makePasskey(yield* Seed.userInNewTenant))
        expect(yield* passkeys.rename(passkey.id, "Laptop")).toEqual({ ...passkey, name: "Laptop" })
        expect(yield* passkeys.get(passkey.id)).toEqual({ ...passkey, name: "Laptop" })
        yield* expectFailure(passkeys.rename(PasskeyId.make(), "x"), "NotFound")
      }),
    )

    h.test(
      "takeChallenge by id or by value returns a live challenge once; an expired one is removed and not returned",
      Effect.gen(function* () {
        const passkeys = yield* PasskeyStore
        const user = yield* Seed.userInNewTenant
        const byId = makePasskeyChallenge(user, { kind: "authentication", userId: null })
        const byValue = makePasskeyChallenge(user)
        const expired = makePasskeyChallenge(user, { expiresAt: at(HOUR - MINUTE) })
        for (const challenge of [byId, byValue, expired]) yield* passkeys.createChallenge(challenge)
        expect(yield* getSome(passkeys.takeChallenge({ id: byId.id }, NOW))).toEqual(byId)
        yield* expectNone(passkeys.takeChallenge({ id: byId.id }, NOW))
        yield* expectNone(passkeys.takeChallenge({ challenge: byId.challenge }, NOW))
        expect(yield* getSome(passkeys.takeChallenge({ challenge: byValue.challenge }, NOW))).toEqual(byValue)
        yield* expectNone(passkeys.takeChallenge({ id: byValue.id }, NOW))
        yield* expectNone(passkeys.takeChallenge({ id: expired.id }, NOW))
        // Taking it removed it: even a clock turned back cannot take it any more.
        yield* expectNone(passkeys.takeChallenge({ id: expired.id }, at(0)))
        yield* expectNone(passkeys.takeChallenge({ id: PasskeyChallengeId.make() }, NOW))
      }),
    )

    h.test(
      "20 concurrent takes of one challenge: exactly one gets it",
      Effect.gen(function* () {
        const passkeys = yield* PasskeyStore
        const challenge = makePasskeyChallenge(yield* Seed.userInNewTenant)
        yield* passkeys.createChallenge(challenge)
        const taken = yield* race(20, (i) =>
          Effect.map(
            passkeys.takeChallenge(i % 2 === 0 ? { id: challenge.id } : { challenge: challenge.challenge }, NOW),
            (found) => found._tag === "Some",
          ),
        )
        expect(countTrue(taken)).toBe(1)
      }),
    )

    const epoch = sweepEpoch()
    h.test(
      "deleteExpiredChallenges deletes the challenges that expired before now, and counts them",
      Effect.gen(function* () {
        const passkeys = yield* PasskeyStore
        const user = yield* Seed.userInNewTenant
        const expired = makePasskeyChallenge(user, { expiresAt: epoch(HOUR), createdAt: epoch(0) })
        const live = makePasskeyChallenge(user, { expiresAt: epoch(3 * HOUR), createdAt: epoch(0) })
        yield* passkeys.createChallenge(expired)
        yield* passkeys.createChallenge(live)
        expect(yield* passkeys.deleteExpiredChallenges(epoch(2 * HOUR))).toBe(1)
        expect(yield* passkeys.deleteExpiredChallenges(epoch(2 * HOUR))).toBe(0)
        yield* expectNone(passkeys.takeChallenge({ id: expired.id }, epoch(0)))
        expect(yield* getSome(passkeys.takeChallenge({ id: live.id }, epoch(2 * HOUR)))).toEqual(live)
      }),
    )
  },
  ownedRows: (user) =>
    Effect.gen(function* () {
      const passkeys = yield* PasskeyStore
      const passkey = yield* passkeys.create(makePasskey(user)).pipe(Effect.orDie)
      return passkeys.get(passkey.id).pipe(
        Effect.as({ passkey: true }),
        Effect.catchTag("NotFound", () => Effect.succeed({ passkey: false })),
      )
    }),
}
