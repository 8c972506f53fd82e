/**
 * `MemoryStore.layer`: every store in process memory, for tests and experiments. It follows the PostgreSQL store's
 * contract (the shared conformance suite runs against both): the same uniqueness rules, cascades, paging and
 * transactions. Each build of the layer starts empty; its data is gone when the layer's scope closes.
 */
import { Clock, Context, Effect, Layer } from "effect"
import {
  ApiKeyStore,
  AppSessionConfigStore,
  AppStore,
  AuditStore,
  BrandingStore,
  DeviceStore,
  EnvironmentStore,
  FormConfigStore,
  InvitationStore,
  MemberStore,
  NotificationStore,
  OrganizationStore,
  PasswordResetStore,
  RateLimitStore,
  RbacStore,
  SessionStore,
  Store,
  type StoreServices,
  TeamMemberStore,
  TeamStore,
  UserStore,
  VerificationStore,
  WebhookDeliveryStore,
  WebhookStore,
} from "../../services/store/index.js"
import { StoreBackend } from "../backend.js"
import { makeEngine } from "./engine.js"
import {
  makeDeviceStore,
  makePasswordResetStore,
  makeSessionStore,
  makeUserStore,
  makeVerificationStore,
} from "./identity.js"
import {
  makeInvitationStore,
  makeMemberStore,
  makeOrganizationStore,
  makeTeamMemberStore,
  makeTeamStore,
} from "./organizations.js"
import {
  makeApiKeyStore,
  makeAuditStore,
  makeNotificationStore,
  makeRateLimitStore,
  makeRbacStore,
  makeWebhookDeliveryStore,
  makeWebhookStore,
} from "./platform.js"
import { makeStore } from "./store.js"
import {
  makeAppSessionConfigStore,
  makeAppStore,
  makeBrandingStore,
  makeEnvironmentStore,
  makeFormConfigStore,
} from "./tenancy.js"

const services = Effect.gen(function* () {
  const engine = yield* makeEngine
  const createdAt = new Date(yield* Clock.currentTimeMillis)
  const tenancy = Context.make(AppStore, makeAppStore(engine)).pipe(
    Context.add(EnvironmentStore, makeEnvironmentStore(engine)),
    Context.add(AppSessionConfigStore, makeAppSessionConfigStore(engine)),
    Context.add(FormConfigStore, makeFormConfigStore(engine)),
    Context.add(BrandingStore, makeBrandingStore(engine)),
  )
  const identity = Context.make(UserStore, makeUserStore(engine)).pipe(
    Context.add(SessionStore, makeSessionStore(engine)),
    Context.add(VerificationStore, makeVerificationStore(engine)),
    Context.add(PasswordResetStore, makePasswordResetStore(engine)),
    Context.add(DeviceStore, makeDeviceStore(engine)),
  )
  const organizations = Context.make(OrganizationStore, makeOrganizationStore(engine)).pipe(
    Context.add(MemberStore, makeMemberStore(engine)),
    Context.add(InvitationStore, makeInvitationStore(engine)),
    Context.add(TeamStore, makeTeamStore(engine)),
    Context.add(TeamMemberStore, makeTeamMemberStore(engine)),
  )
  const platform = Context.make(WebhookStore, makeWebhookStore(engine)).pipe(
    Context.add(WebhookDeliveryStore, makeWebhookDeliveryStore(engine)),
    Context.add(NotificationStore, makeNotificationStore(engine)),
    Context.add(ApiKeyStore, makeApiKeyStore(engine)),
    Context.add(RbacStore, makeRbacStore(engine)),
    Context.add(AuditStore, makeAuditStore(engine)),
    Context.add(RateLimitStore, makeRateLimitStore(engine)),
  )
  return Context.make(Store, makeStore(engine, createdAt)).pipe(
    Context.merge(tenancy),
    Context.merge(identity),
    Context.merge(organizations),
    Context.merge(platform),
    Context.add(StoreBackend, { kind: "memory" as const, engine }),
  )
})

/** Provides every core store, the `Store` lifecycle and the backend plugins build their stores on; needs nothing. */
const layer: Layer.Layer<StoreServices | StoreBackend> = Layer.scopedContext(services)

export const MemoryStore = { layer } as const
