/**
 * A software authenticator (a platform passkey provider plus the browser's part of WebAuthn) for tests: ES256 keys
 * from node:crypto, attestation `none`, authenticator data with the RP id hash, flags, signature counter and
 * attested credential data (COSE key in CBOR), and the client data JSON a browser would produce for an origin.
 * It answers the options JSON the server sends exactly as `navigator.credentials.create()/get()` + `toJSON()` do.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto"

type Cbor = number | string | Uint8Array | ReadonlyArray<Cbor> | Map<Cbor, Cbor> | { readonly [key: string]: Cbor }

/** The CBOR head of major type `major` with argument `value` (RFC 8949 §3). */
const head = (major: number, value: number): Buffer => {
  if (value < 24) return Buffer.from([(major << 5) | value])
  if (value < 0x100) return Buffer.from([(major << 5) | 24, value])
  if (value < 0x10000) return Buffer.from([(major << 5) | 25, value >> 8, value & 0xff])
  const out = Buffer.alloc(5)
  out[0] = (major << 5) | 26
  out.writeUInt32BE(value, 1)
  return out
}

/** Deterministic CBOR of the few types WebAuthn uses: integers, text, bytes, arrays and maps. */
export const cbor = (value: Cbor): Buffer => {
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value)
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8")
    return Buffer.concat([head(3, bytes.length), bytes])
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value])
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)])
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value)
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])])
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url")
const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest()

const flags = { userPresent: 0x01, userVerified: 0x04, attestedCredentialData: 0x40 } as const

interface StoredCredential {
  readonly id: Buffer
  readonly rpId: string
  readonly privateKey: KeyObject
  readonly cosePublicKey: Buffer
  readonly userHandle: string
  counter: number
}

export interface Overrides {
  /** The origin the "browser" reports in the client data (default: the authenticator's). */
  readonly origin?: string
  /** The RP id whose hash goes into the authenticator data (default: the one in the options). */
  readonly rpId?: string
  /** Whether the user was verified (PIN, biometrics); default true. */
  readonly userVerified?: boolean
  /** The signature counter to report instead of the next one (a cloned authenticator lags behind). */
  readonly counter?: number
  /** The credential to answer with (default: the first allowed one this authenticator holds). */
  readonly credentialId?: string
}

export class SoftAuthenticator {
  readonly credentials: Array<StoredCredential> = []

  constructor(readonly origin: string) {}

  private clientData(type: "webauthn.create" | "webauthn.get", challenge: string, overrides: Overrides) {
    return Buffer.from(
      JSON.stringify({ type, challenge, origin: overrides.origin ?? this.origin, crossOrigin: false }),
      "utf8",
    )
  }

  private authenticatorData(rpId: string, flagBits: number, counter: number, attested?: Buffer) {
    const count = Buffer.alloc(4)
    count.writeUInt32BE(counter)
    return Buffer.concat([sha256(rpId), Buffer.from([flagBits]), count, ...(attested ? [attested] : [])])
  }

  /** `navigator.credentials.create({ publicKey: options })`, then `toJSON()`: a new discoverable ES256 credential. */
  create(options: any, overrides: Overrides = {}) {
    if (!options.pubKeyCredParams.some((param: { alg: number }) => param.alg === -7)) throw new Error("no ES256")
    const rpId: string = overrides.rpId ?? options.rp.id
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" })
    const jwk = publicKey.export({ format: "jwk" })
    const cosePublicKey = cbor(
      new Map<Cbor, Cbor>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x!, "base64url")],
        [-3, Buffer.from(jwk.y!, "base64url")],
      ]),
    )
    const id = randomBytes(16)
    const idLength = Buffer.alloc(2)
    idLength.writeUInt16BE(id.length)
    const attested = Buffer.concat([Buffer.alloc(16) /* AAGUID: none */, idLength, id, cosePublicKey])
    const uv = overrides.userVerified ?? true
    const authData = this.authenticatorData(
      rpId,
      flags.userPresent | (uv ? flags.userVerified : 0) | flags.attestedCredentialData,
      0,
      attested,
    )
    this.credentials.push({ id, rpId, privateKey, cosePublicKey, userHandle: options.user.id, counter: 0 })
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: "public-key" as const,
      authenticatorAttachment: "platform" as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(this.clientData("webauthn.create", options.challenge, overrides)),
        attestationObject: b64url(cbor({ fmt: "none", attStmt: {}, authData })),
        transports: ["internal", "hybrid"],
      },
    }
  }

  /**
   * `navigator.credentials.get({ publicKey: options })`, then `toJSON()`: an assertion by an allowed credential, or,
   * when the options allow any (discoverable login), by one of this authenticator's for the RP.
   */
  get(options: any, overrides: Overrides = {}) {
    const allowed: ReadonlyArray<string> = (options.allowCredentials ?? []).map((c: { id: string }) => c.id)
    const credential = this.credentials.find((c) =>
      overrides.credentialId !== undefined
        ? b64url(c.id) === overrides.credentialId
        : c.rpId === options.rpId && (allowed.length === 0 || allowed.includes(b64url(c.id))),
    )
    if (credential === undefined) throw new Error("no credential for these options")
    credential.counter += 1
    const uv = overrides.userVerified ?? true
    const authData = this.authenticatorData(
      overrides.rpId ?? options.rpId,
      flags.userPresent | (uv ? flags.userVerified : 0),
      overrides.counter ?? credential.counter,
    )
    const clientDataJSON = this.clientData("webauthn.get", options.challenge, overrides)
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey)
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: "public-key" as const,
      authenticatorAttachment: "platform" as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
    }
  }
}
