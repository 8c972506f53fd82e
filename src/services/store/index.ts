export * from "./common.js"
export * from "./identity.js"
export * from "./organizations.js"
export * from "./platform.js"
export * from "./store.js"
export * from "./tenancy.js"

import type {
  ApiKeyStore,
  AuditStore,
  NotificationStore,
  RateLimitStore,
  RbacStore,
  WebhookDeliveryStore,
  WebhookStore,
} from "./platform.js"
import type { DeviceStore, PasswordResetStore, SessionStore, UserStore, VerificationStore } from "./identity.js"
import type { InvitationStore, MemberStore, OrganizationStore, TeamMemberStore, TeamStore } from "./organizations.js"
import type { Store } from "./store.js"
import type { AppSessionConfigStore, AppStore, BrandingStore, EnvironmentStore, FormConfigStore } from "./tenancy.js"

/** The core stores: everything a store implementation (`PostgresStore.layer`, `MemoryStore.layer`) provides. */
export type StoreServices =
  | Store
  | AppStore
  | EnvironmentStore
  | AppSessionConfigStore
  | FormConfigStore
  | BrandingStore
  | UserStore
  | SessionStore
  | VerificationStore
  | PasswordResetStore
  | DeviceStore
  | OrganizationStore
  | MemberStore
  | InvitationStore
  | TeamStore
  | TeamMemberStore
  | WebhookStore
  | WebhookDeliveryStore
  | NotificationStore
  | ApiKeyStore
  | RbacStore
  | AuditStore
  | RateLimitStore
