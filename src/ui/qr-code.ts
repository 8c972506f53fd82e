import { Effect } from "effect"

// Loaded at the first QR code (an authenticator's setup): the encoder and its PNG dependency are parsed only then,
// not at every start-up.
let loadingQrCode: Promise<typeof import("qrcode")> | undefined

/** The `otpauth://` URL as an SVG QR code, for an authenticator app to scan. */
export const qrCodeSvg = (text: string): Effect.Effect<string> =>
  Effect.promise(async () => {
    loadingQrCode ??= import("qrcode")
    // a CommonJS module: its exports are the namespace's `default`
    const loaded: typeof import("qrcode") & { default?: typeof import("qrcode") } = await loadingQrCode
    const QRCode = loaded.default ?? loaded
    return QRCode.toString(text, { type: "svg", margin: 1 })
  })
