/**
 * Passkeys (WebAuthn Level 2) on `@simplewebauthn/server`, usable without HTTP: registration by a signed-in user,
 * login by email or discoverable (no email), list, rename and delete. Every challenge is stored server-side and
 * taken at most once within its lifetime; origin and RP id are checked; the signature counter must increase (a
 * counter that does not is a cloned authenticator: refused and audited).
 */
import { createHmac } from "node:crypto"
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server"
import { Clock, Duration, Effect, Option, Schema } from "effect"
import { Conflict, InvalidCode, InvalidCredentials, NotFound } from "../../domain/errors.js"
import type { UserId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import type { ClientContext } from "../../plugin/index.js"
import { Events } from "../../services/events.js"
import { SecretBox } from "../../services/secrets.js"
import { SignIn } from "../../services/sign-in.js"
import { Store, UserStore } from "../../services/store/index.js"
import { PasskeySettings } from "./options.js"
import { type Passkey, PasskeyChallengeId, PasskeyId, PasskeyStore } from "./store.js"

// Loaded at the first ceremony: the library and its X.509/ASN.1 dependencies are a sixth of the server's code, which
// every start-up would otherwise parse.
let loadingWebAuthn: Promise<typeof import("@simplewebauthn/server")> | undefined
const webauthn = () => {
  loadingWebAuthn ??= import("@simplewebauthn/server")
  return loadingWebAuthn
}

/** The algorithms offered at registration: EdDSA, ES256, RS256 (what authenticators implement). */
const supportedAlgorithmIDs = [-8, -7, -257]

const textEncoder = new TextEncoder()

/** The challenge a response answers, read from its client data (verified against the stored one afterwards). */
const ClientData = Schema.parseJson(Schema.Struct({ challenge: Schema.String }))
const challengeOf = (clientDataJSON: string) =>
  Option.map(
    Schema.decodeUnknownOption(ClientData)(Buffer.from(clientDataJSON, "base64url").toString("utf8")),
    (data) => data.challenge,
  )

export class PasskeyAuth extends Effect.Service<PasskeyAuth>()("authsome/PasskeyAuth", {
  effect: Effect.gen(function* () {
    const settings = yield* PasskeySettings
    const store = yield* Store
    const passkeys = yield* PasskeyStore
    const users = yield* UserStore
    const box = yield* SecretBox
    const signIn = yield* SignIn
    const events = yield* Events
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
    const decoyKey = box.keyFor("passkey-decoy")
    const requireUserVerification = settings.userVerification === "required"

    /** Stores the ceremony's challenge (and clears out expired ones); returns the ceremony id. */
    const startCeremony = (
      kind: "registration" | "authentication",
      appId: M.App["id"],
      userId: UserId | null,
      challenge: string,
    ) =>
      Effect.gen(function* () {
        const at = yield* now
        yield* passkeys.deleteExpiredChallenges(at)
        const id = PasskeyChallengeId.make()
        yield* passkeys.createChallenge({
          id,
          appId,
          userId,
          kind,
          challenge,
          expiresAt: new Date(at.getTime() + Duration.toMillis(settings.challengeTtl)),
          createdAt: at,
        })
        return id
      })

    /** The options for `navigator.credentials.create()`; the user's passkeys are excluded (no duplicates). */
    const registrationOptions = (user: M.User) =>
      Effect.gen(function* () {
        const existing = yield* passkeys.listByUser(user.id)
        const options = yield* Effect.promise(() =>
          webauthn().then((w) =>
            w.generateRegistrationOptions({
              rpName: settings.rpName,
              rpID: settings.rpId,
              userName: user.email,
              userID: textEncoder.encode(user.id),
              userDisplayName: [user.firstName, user.lastName].filter(Boolean).join(" ") || user.email,
              timeout: Duration.toMillis(settings.challengeTtl),
              attestationType: "none",
              excludeCredentials: existing.map((passkey) => ({
                id: passkey.credentialId,
                transports: [...passkey.transports],
              })),
              authenticatorSelection: { residentKey: "preferred", userVerification: settings.userVerification },
              supportedAlgorithmIDs,
            }),
          ),
        )
        yield* startCeremony("registration", user.appId, user.id, options.challenge)
        return options
      })

    const registrationRefused = new InvalidCode({
      message: "the passkey could not be registered (expired or used challenge, wrong origin, or invalid response)",
    })

    /** Verifies the authenticator's answer to the user's registration challenge and stores the new passkey. */
    const register = (
      user: M.User,
      response: RegistrationResponseJSON,
      name: string | undefined,
      client: ClientContext,
    ) =>
      Effect.gen(function* () {
        const challenge = challengeOf(response.response.clientDataJSON)
        if (Option.isNone(challenge)) return yield* registrationRefused
        const at = yield* now
        const ceremony = yield* passkeys.takeChallenge({ challenge: challenge.value }, at)
        if (
          Option.isNone(ceremony) ||
          ceremony.value.kind !== "registration" ||
          ceremony.value.userId !== user.id ||
          ceremony.value.appId !== user.appId
        ) {
          return yield* registrationRefused
        }
        const verification = yield* Effect.tryPromise(() =>
          webauthn().then((w) =>
            w.verifyRegistrationResponse({
              response,
              expectedChallenge: ceremony.value.challenge,
              expectedOrigin: [...settings.origins],
              expectedRPID: settings.rpId,
              requireUserVerification,
              supportedAlgorithmIDs,
            }),
          ),
        ).pipe(Effect.orElseSucceed(() => ({ verified: false }) as const))
        if (!verification.verified) return yield* registrationRefused
        const info = verification.registrationInfo
        const passkey: Passkey = {
          id: PasskeyId.make(),
          appId: user.appId,
          userId: user.id,
          name: name ?? "Passkey",
          credentialId: info.credential.id,
          publicKey: Buffer.from(info.credential.publicKey).toString("base64url"),
          counter: info.credential.counter,
          transports: info.credential.transports ?? [],
          deviceType: info.credentialDeviceType,
          backedUp: info.credentialBackedUp,
          aaguid: info.aaguid,
          lastUsedAt: null,
          createdAt: at,
        }
        return yield* store.transaction(
          Effect.gen(function* () {
            const created = yield* passkeys
              .create(passkey)
              .pipe(Effect.mapError(() => new Conflict({ message: "this passkey is already registered" })))
            yield* events.emit(client, {
              type: "auth.passkey.registered",
              userId: user.id,
              metadata: { passkey_id: created.id, device_type: created.deviceType, backed_up: created.backedUp },
            })
            return created
          }),
        )
      })

    /**
     * A stand-in credential for an email without passkeys (unknown, or no passkey registered), the same for every
     * request about that email: the options look alike whether or not the account exists.
     */
    const decoyCredential = (client: ClientContext, email: string) => ({
      id: createHmac("sha256", decoyKey).update(client.app.id).update("\u0000").update(email).digest("base64url"),
      transports: ["internal", "hybrid"],
    })

    /**
     * The options for `navigator.credentials.get()` and the ceremony id to answer with. With an email, the options
     * list that account's passkeys; without one, the login is discoverable (the authenticator offers its passkeys).
     */
    const loginOptions = (email: string | undefined, client: ClientContext) =>
      Effect.gen(function* () {
        let userId: UserId | null = null
        let allowCredentials: Array<{ id: string; transports: Array<string> }> | undefined
        if (email !== undefined) {
          const user = yield* Effect.option(users.getByEmail(client.app.id, client.env.id, email))
          const owned = Option.isSome(user) ? yield* passkeys.listByUser(user.value.id) : []
          if (Option.isSome(user)) userId = user.value.id
          allowCredentials =
            owned.length > 0
              ? owned.map((passkey) => ({ id: passkey.credentialId, transports: [...passkey.transports] }))
              : [decoyCredential(client, email)]
        }
        const options = yield* Effect.promise(() =>
          webauthn().then((w) =>
            w.generateAuthenticationOptions({
              rpID: settings.rpId,
              ...(allowCredentials === undefined ? {} : { allowCredentials }),
              userVerification: settings.userVerification,
              timeout: Duration.toMillis(settings.challengeTtl),
            }),
          ),
        )
        const ceremonyId = yield* startCeremony("authentication", client.app.id, userId, options.challenge)
        return { options, ceremonyId }
      })

    /** Audits a refused passkey sign-in; every refusal looks alike to the client. */
    const refuse = (client: ClientContext, reason: string, userId: UserId | null = null) =>
      Effect.zipRight(
        events.emit(client, {
          type: "auth.signin.failed",
          outcome: "failure",
          userId,
          reason,
          metadata: { method: "passkey" },
        }),
        Effect.fail(new InvalidCredentials()),
      )

    /**
     * Verifies the answer to a login challenge and signs the passkey's owner in through `SignIn.complete`. A
     * user-verified assertion counts as a second factor.
     */
    const login = (ceremonyId: string, response: AuthenticationResponseJSON, client: ClientContext) =>
      Effect.gen(function* () {
        const at = yield* now
        const ceremony = PasskeyChallengeId.is(ceremonyId)
          ? yield* passkeys.takeChallenge({ id: ceremonyId }, at)
          : Option.none()
        if (
          Option.isNone(ceremony) ||
          ceremony.value.kind !== "authentication" ||
          ceremony.value.appId !== client.app.id
        ) {
          return yield* refuse(client, "unknown_or_used_challenge")
        }
        const found = yield* passkeys.findByCredentialId(response.id)
        if (Option.isNone(found) || found.value.appId !== client.app.id) {
          return yield* refuse(client, "unknown_credential")
        }
        const passkey = found.value
        const userHandle = response.response.userHandle
        if (
          (ceremony.value.userId !== null && ceremony.value.userId !== passkey.userId) ||
          (userHandle !== undefined && Buffer.from(userHandle, "base64url").toString("utf8") !== passkey.userId)
        ) {
          return yield* refuse(client, "credential_of_another_user", passkey.userId)
        }
        const user = yield* Effect.option(users.get(passkey.userId))
        if (Option.isNone(user) || user.value.envId !== client.env.id) {
          return yield* refuse(client, "unknown_user", passkey.userId)
        }
        const verification = yield* Effect.tryPromise(() =>
          webauthn().then((w) =>
            w.verifyAuthenticationResponse({
              response,
              expectedChallenge: ceremony.value.challenge,
              expectedOrigin: [...settings.origins],
              expectedRPID: settings.rpId,
              // The counter is checked below, where a regression is audited as a cloned authenticator.
              credential: {
                id: passkey.credentialId,
                publicKey: Buffer.from(passkey.publicKey, "base64url"),
                counter: 0,
                transports: passkey.transports as Array<never>,
              },
              requireUserVerification,
            }),
          ),
        ).pipe(Effect.option)
        if (Option.isNone(verification) || !verification.value.verified) {
          return yield* refuse(client, "invalid_assertion", passkey.userId)
        }
        const { newCounter, userVerified } = verification.value.authenticationInfo
        const increased = newCounter > passkey.counter || (newCounter === 0 && passkey.counter === 0)
        if (!increased || !(yield* passkeys.updateCounter(passkey.id, passkey.counter, newCounter, at))) {
          yield* events.emit(client, {
            type: "auth.passkey.clone_suspected",
            outcome: "failure",
            userId: passkey.userId,
            reason: "signature_counter_not_increasing",
            metadata: { passkey_id: passkey.id, stored_counter: passkey.counter, presented_counter: newCounter },
          })
          return yield* refuse(client, "signature_counter_not_increasing", passkey.userId)
        }
        const tokens = yield* signIn.complete(
          user.value,
          client,
          "passkey",
          userVerified ? { secondFactor: "user_verification" } : {},
        )
        return { user: user.value, tokens }
      })

    /** The user's passkey `id`; another user's, or none, is `NotFound`. */
    const owned = (user: M.User, id: string) =>
      Effect.gen(function* () {
        const notFound = new NotFound({ entity: "passkey" })
        if (!PasskeyId.is(id)) return yield* notFound
        const passkey = yield* passkeys.get(id)
        if (passkey.userId !== user.id) return yield* notFound
        return passkey
      })

    const list = (user: M.User) => passkeys.listByUser(user.id)

    const rename = (user: M.User, id: string, name: string) =>
      Effect.flatMap(owned(user, id), (passkey) => passkeys.rename(passkey.id, name))

    const remove = (user: M.User, id: string, client: ClientContext) =>
      Effect.flatMap(owned(user, id), (passkey) =>
        store.transaction(
          Effect.zipRight(
            passkeys.delete(passkey.id),
            events.emit(client, {
              type: "auth.passkey.deleted",
              userId: user.id,
              metadata: { passkey_id: passkey.id },
            }),
          ),
        ),
      )

    return { registrationOptions, register, loginOptions, login, list, rename, remove } as const
  }),
}) {}
