/** The passkey plugin's part of the store conformance suite. */
import { Effect } from "effect"
import { expect } from "vitest"
import type { PluginConformance } from "../../conformance/harness.js"
import { expectFailure, expectNone, Fixtures, getSome, Seed } from "../../conformance/index.js"
import type * as M from "../../domain/models.js"
import { passkeyMigrations } from "./migrations.js"
import { type Passkey, PasskeyId, PasskeyStore } from "./store.js"
import { PasskeyStoreLive } from "./stores.js"

const { hash, HOUR, at, nextStamp } = Fixtures
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
