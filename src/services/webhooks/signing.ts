/**
 * Standard Webhooks 1.0 (https://www.standardwebhooks.com), so receivers verify our calls with the
 * `standardwebhooks` / Svix libraries: the secret is `whsec_<base64 key>`, the signature
 * `v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`.
 */
import { createHmac } from "node:crypto"
import { randomBuffer } from "../../domain/random.js"

const secretPrefix = "whsec_"

/** A new signing secret: 256 random bits. */
export const newWebhookSecret = (): string => `${secretPrefix}${randomBuffer(32).toString("base64")}`

/** The HMAC key a `whsec_…` secret stands for (decoded once for many deliveries). */
export const signingKey = (secret: string): Buffer => Buffer.from(secret.slice(secretPrefix.length), "base64")

const signWith = (key: Buffer, id: string, timestamp: number, body: string): string =>
  `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`

/** The headers of one attempt; `id` is the delivery's, the same on every retry so receivers can deduplicate. */
export const signedHeaders = (
  key: Buffer,
  id: string,
  eventType: string,
  timestamp: number,
  body: string,
): Record<string, string> => ({
  "content-type": "application/json",
  "user-agent": "Authsome-Webhooks/1",
  "webhook-id": id,
  "webhook-timestamp": String(timestamp),
  "webhook-signature": signWith(key, id, timestamp, body),
  "x-authsome-event": eventType,
})
