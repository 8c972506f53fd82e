/** Webhooks: management, the SSRF guard, Standard Webhooks signing and the outbox dispatcher. */
export { nextRetryDelay, WebhookDispatcher } from "./dispatcher.js"
export { type NewWebhook, testEventType, type WebhookChange, Webhooks, webhookSecretPurpose } from "./service.js"
export { newWebhookSecret, signedHeaders } from "./signing.js"
export { type CheckedTarget, checkTarget, parseTargetUrl, refusalOf, TargetRefused } from "./targets.js"
export { WebhookWakeUp } from "./wake-up.js"
