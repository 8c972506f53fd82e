/** The passkey plugin's routes (http-api.md §6): registration, login by email or discoverable, list, rename, delete. */
import { Effect, Schema } from "effect"
import {
  EmailField,
  HttpKit,
  json,
  publicRoute,
  rateLimitPolicy,
  sessionRoute,
  status,
  StatusJson,
  TokensJson,
} from "../../plugin/index.js"
import { PasskeyAuth } from "./service.js"
import type { Passkey } from "./store.js"

/** The passkey routes' own limits (configurable by name under `rateLimit.rules`): each begin stores a challenge. */
export const passkeyRateLimits = {
  passkeyLoginIp: rateLimitPolicy("passkeyLoginIp", 30, "1 minute"),
  passkeyRegisterUser: rateLimitPolicy("passkeyRegisterUser", 10, "1 minute"),
} as const

const Base64Url = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]*={0,2}$/, { message: () => "expected base64url" }),
  Schema.maxLength(16_384),
)

/** An optional field that is absent rather than `undefined` (as the WebAuthn JSON types declare them). */
const exact = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** The fields of `PublicKeyCredential.toJSON()` the verification reads (a browser sends them as they are). */
const credentialFields = {
  id: Base64Url,
  rawId: Base64Url,
  type: Schema.Literal("public-key"),
  authenticatorAttachment: exact(Schema.Literal("platform", "cross-platform")),
  clientExtensionResults: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), {
    default: () => ({}),
  }),
}

const RegistrationResponse = Schema.Struct({
  ...credentialFields,
  response: Schema.Struct({
    clientDataJSON: Base64Url,
    attestationObject: Base64Url,
    authenticatorData: exact(Base64Url),
    transports: exact(Schema.mutable(Schema.Array(Schema.String.pipe(Schema.maxLength(32))).pipe(Schema.maxItems(16)))),
    publicKeyAlgorithm: exact(Schema.Int),
    publicKey: exact(Base64Url),
  }),
}).annotations({ description: "the JSON of the credential `navigator.credentials.create()` returned" })

const AuthenticationResponse = Schema.Struct({
  ...credentialFields,
  response: Schema.Struct({
    clientDataJSON: Base64Url,
    authenticatorData: Base64Url,
    signature: Base64Url,
    userHandle: exact(Base64Url),
  }),
}).annotations({ description: "the JSON of the credential `navigator.credentials.get()` returned" })

const PasskeyName = Schema.Trim.pipe(Schema.minLength(1), Schema.maxLength(100))

const PasskeyJson = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  device_type: Schema.NullOr(Schema.String),
  backed_up: Schema.Boolean,
  transports: Schema.Array(Schema.String),
  created_at: Schema.String,
  last_used_at: Schema.NullOr(Schema.String),
}).annotations({ identifier: "Passkey" })

export const passkeyJson = (passkey: Passkey): typeof PasskeyJson.Type => ({
  id: passkey.id,
  name: passkey.name,
  device_type: passkey.deviceType,
  backed_up: passkey.backedUp,
  transports: passkey.transports,
  created_at: passkey.createdAt.toISOString(),
  last_used_at: passkey.lastUsedAt?.toISOString() ?? null,
})

const OptionsJson = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
  description: "for `navigator.credentials` (as @simplewebauthn/browser takes them)",
})

export const passkeyRoutes = Effect.gen(function* () {
  const passkeys = yield* PasskeyAuth
  const kit = yield* HttpKit

  const registerBegin = sessionRoute({
    method: "POST",
    path: "/passkeys/register/begin",
    credentials: "session",
    tag: "Passkeys",
    summary: "Options to create a passkey for the signed-in user (the challenge lasts 5 minutes, used once)",
    responses: { 200: { description: "creation options", schema: Schema.Struct({ options: OptionsJson }) } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByAppSubject(request, passkeyRateLimits.passkeyRegisterUser, `user:${request.auth.user.id}`)
        return json(200, { options: yield* passkeys.registrationOptions(request.auth.user) })
      }),
  })

  const registerFinish = sessionRoute({
    method: "POST",
    path: "/passkeys/register/finish",
    credentials: "session",
    tag: "Passkeys",
    summary: "Store the passkey the authenticator created (origin, RP id and challenge checked)",
    body: Schema.Struct({ response: RegistrationResponse, name: Schema.optional(PasskeyName) }),
    responses: {
      200: { description: "registered", schema: Schema.Struct({ id: Schema.String, name: Schema.String }) },
    },
    handler: (request) =>
      Effect.gen(function* () {
        const passkey = yield* passkeys.register(
          request.auth.user,
          request.body.response,
          request.body.name,
          request.client,
        )
        return json(200, { id: passkey.id, name: passkey.name })
      }),
  })

  const loginBegin = publicRoute({
    method: "POST",
    path: "/passkeys/login/begin",
    tag: "Passkeys",
    summary: "Options to sign in with a passkey: the account's passkeys by email, or any (discoverable) without",
    description: "An unknown email gets options of the same shape: the answer does not tell whether it exists.",
    body: Schema.Struct({ email: Schema.optional(EmailField) }),
    responses: {
      200: {
        description: "request options and the ceremony to answer",
        schema: Schema.Struct({ options: OptionsJson, ceremony_id: Schema.String }),
      },
    },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, passkeyRateLimits.passkeyLoginIp)
        const { options, ceremonyId } = yield* passkeys.loginOptions(request.body.email, request.client)
        return json(200, { options, ceremony_id: ceremonyId })
      }),
  })

  const loginFinish = publicRoute({
    method: "POST",
    path: "/passkeys/login/finish",
    tag: "Passkeys",
    summary: "Sign in with the authenticator's answer (single-use challenge, signature counter checked)",
    body: Schema.Struct({ ceremony_id: Schema.String.pipe(Schema.maxLength(64)), response: AuthenticationResponse }),
    responses: { 200: { description: "signed in", schema: TokensJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, passkeyRateLimits.passkeyLoginIp)
        const { user, tokens } = yield* passkeys.login(request.body.ceremony_id, request.body.response, request.client)
        return yield* kit.signedIn(request, user, tokens)
      }),
  })

  const list = sessionRoute({
    method: "GET",
    path: "/passkeys",
    tag: "Passkeys",
    summary: "The signed-in user's passkeys",
    responses: {
      200: { description: "passkeys, newest first", schema: Schema.Struct({ passkeys: Schema.Array(PasskeyJson) }) },
    },
    handler: (request) =>
      Effect.map(passkeys.list(request.auth.user), (all) => json(200, { passkeys: all.map(passkeyJson) })),
  })

  const rename = sessionRoute({
    method: "PATCH",
    path: "/passkeys/:id",
    tag: "Passkeys",
    summary: "Rename a passkey",
    body: Schema.Struct({ name: PasskeyName }),
    responses: { 200: { description: "renamed", schema: PasskeyJson } },
    handler: (request) =>
      Effect.map(passkeys.rename(request.auth.user, request.params.id!, request.body.name), (passkey) =>
        json(200, passkeyJson(passkey)),
      ),
  })

  const remove = sessionRoute({
    method: "DELETE",
    path: "/passkeys/:id",
    tag: "Passkeys",
    summary: "Delete a passkey",
    responses: { 200: { description: "deleted", schema: StatusJson } },
    handler: (request) =>
      Effect.as(passkeys.remove(request.auth.user, request.params.id!, request.client), status("deleted")),
  })

  return [registerBegin, registerFinish, loginBegin, loginFinish, list, rename, remove]
})
