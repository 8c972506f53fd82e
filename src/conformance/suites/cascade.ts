/**
 * Deleting an app deletes everything it owns, in every store, and nothing of another app.
 */
import { Effect, Option } from "effect"
import { describe, expect } from "vitest"
import type { NotFound } from "../../domain/errors.js"
import { newId } from "../../domain/ids.js"
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
  RbacStore,
  SessionStore,
  TeamMemberStore,
  TeamStore,
  UserStore,
  VerificationStore,
  WebhookDeliveryStore,
  WebhookStore,
} from "../../services/store/index.js"
import {
  at,
  HOUR,
  hash,
  makeApiKey,
  makeAuditEvent,
  makeBranding,
  makeDelivery,
  makeDevice,
  makeInvitation,
  makeNotification,
  makePasswordReset,
  makePermission,
  makeRole,
  makeSessionConfig,
  makeTeam,
  makeTeamMember,
  makeUserRole,
  makeVerification,
  makeWebhook,
} from "../fixtures.js"
import type { Harness, PluginConformance } from "../harness.js"
import { seedEnv, seedMember, seedOrg, seedSession, seedTenant, seedUser } from "../seed.js"

/** One app populated through every store (and every plugin's); returns what identifies each row. */
const seedWorld = (plugins: ReadonlyArray<PluginConformance>) =>
  Effect.gen(function* () {
    const tenant = yield* seedTenant()
    const staging = yield* seedEnv(tenant)
    const user = yield* seedUser(tenant)
    const stagingUser = yield* seedUser(staging)

    const sessions = yield* SessionStore
    const session = yield* seedSession(user)
    const rotatedAway = session.refreshTokenHash
    yield* sessions.rotate({
      id: session.id,
      expectedRefreshTokenHash: rotatedAway,
      tokenHash: hash(),
      refreshTokenHash: hash(),
      expiresAt: at(2 * HOUR),
      refreshTokenExpiresAt: at(48 * HOUR),
      now: at(HOUR),
    })
    const device = yield* Effect.flatMap(DeviceStore, (s) => s.upsert(makeDevice(user)))

    const org = yield* seedOrg(user)
    const member = yield* seedMember(org, user, "owner")
    const invitation = yield* Effect.flatMap(InvitationStore, (s) => s.create(makeInvitation(org, user)))
    const team = yield* Effect.flatMap(TeamStore, (s) => s.create(makeTeam(org)))
    yield* Effect.flatMap(TeamMemberStore, (s) => s.add(makeTeamMember(team, user)))
    yield* Effect.flatMap(BrandingStore, (s) => s.upsert(makeBranding(org)))

    const rbac = yield* RbacStore
    const role = yield* rbac.createRole(makeRole(tenant.app.id))
    yield* rbac.addPermission(makePermission(role, "post", "read"))
    yield* rbac.assign(makeUserRole(user, role, org.id))

    const apiKey = yield* Effect.flatMap(ApiKeyStore, (s) => s.create(makeApiKey(user)))
    const webhook = yield* Effect.flatMap(WebhookStore, (s) => s.create(makeWebhook(tenant)))
    yield* Effect.flatMap(WebhookDeliveryStore, (s) => s.enqueue([makeDelivery(webhook)]))
    const notification = yield* Effect.flatMap(NotificationStore, (s) =>
      s.enqueue(makeNotification(tenant, { userId: user.id })),
    )
    yield* Effect.flatMap(AuditStore, (s) => s.record(makeAuditEvent(tenant, { userId: user.id })))
    const verification = yield* Effect.flatMap(VerificationStore, (s) =>
      s.create(makeVerification(tenant, user.email, { userId: user.id })),
    )
    const reset = yield* Effect.flatMap(PasswordResetStore, (s) => s.create(makePasswordReset(user)))

    const pluginRows = yield* Effect.forEach(plugins, (plugin) =>
      plugin.ownedRows ? plugin.ownedRows(user) : Effect.succeed(Effect.succeed({})),
    )

    yield* Effect.flatMap(FormConfigStore, (s) =>
      s.save({ appId: tenant.app.id, formType: "signup", fields: [], active: true }, newId.formConfig(), at(HOUR)),
    )
    yield* Effect.flatMap(AppSessionConfigStore, (s) => s.upsert(makeSessionConfig(tenant.app.id)))

    return {
      tenant,
      staging,
      user,
      stagingUser,
      session,
      rotatedAway,
      device,
      org,
      member,
      invitation,
      team,
      role,
      apiKey,
      webhook,
      notification,
      verification,
      reset,
      pluginRows,
    }
  }).pipe(Effect.orDie)

type World = Effect.Effect.Success<ReturnType<typeof seedWorld>>

const found = <A, R>(effect: Effect.Effect<A, NotFound, R>) =>
  effect.pipe(
    Effect.as(true),
    Effect.catchTag("NotFound", () => Effect.succeed(false)),
  )
const some = <A, R>(effect: Effect.Effect<Option.Option<A>, never, R>) => Effect.map(effect, Option.isSome)
const nonEmpty = <R>(effect: Effect.Effect<ReadonlyArray<unknown>, never, R>) => Effect.map(effect, (a) => a.length > 0)

/** For every kind of row the world holds: is it still there? */
const presence = (w: World) =>
  Effect.gen(function* () {
    const [users, sessions, rbac] = yield* Effect.all([UserStore, SessionStore, RbacStore])
    const appId = w.tenant.app.id
    const core: Record<string, boolean> = yield* Effect.all({
      app: found(Effect.flatMap(AppStore, (s) => s.get(appId))),
      environments: nonEmpty(Effect.flatMap(EnvironmentStore, (s) => s.list(appId))),
      stagingEnvironment: found(Effect.flatMap(EnvironmentStore, (s) => s.get(w.staging.env.id))),
      user: found(users.get(w.user.id)),
      stagingUser: found(users.get(w.stagingUser.id)),
      userCount: Effect.map(users.count(appId), (n) => n > 0),
      session: found(sessions.get(w.session.id)),
      revokedRefreshToken: some(sessions.findRevokedRefreshToken(w.rotatedAway)),
      device: found(Effect.flatMap(DeviceStore, (s) => s.get(w.device.id))),
      organization: found(Effect.flatMap(OrganizationStore, (s) => s.get(w.org.id))),
      member: found(Effect.flatMap(MemberStore, (s) => s.get(w.member.id))),
      invitation: found(Effect.flatMap(InvitationStore, (s) => s.get(w.invitation.id))),
      team: found(Effect.flatMap(TeamStore, (s) => s.get(w.team.id))),
      teamMembers: nonEmpty(Effect.flatMap(TeamMemberStore, (s) => s.list(w.team.id))),
      branding: found(Effect.flatMap(BrandingStore, (s) => s.get(w.org.id))),
      role: found(rbac.getRole(w.role.id)),
      permissions: nonEmpty(rbac.listAppPermissions(appId)),
      userRoles: nonEmpty(rbac.listUserRoles(w.user.id)),
      apiKey: found(Effect.flatMap(ApiKeyStore, (s) => s.get(w.apiKey.id))),
      webhook: found(Effect.flatMap(WebhookStore, (s) => s.get(w.webhook.id))),
      deliveries: Effect.flatMap(WebhookDeliveryStore, (s) => s.listByWebhook(w.webhook.id, { limit: 10 })).pipe(
        Effect.map((page) => page.items.length > 0),
      ),
      notification: found(Effect.flatMap(NotificationStore, (s) => s.get(w.notification.id))),
      auditEvents: Effect.flatMap(AuditStore, (s) => s.list(appId, { limit: 10 })).pipe(
        Effect.map((page) => page.items.length > 0),
      ),
      verification: some(Effect.flatMap(VerificationStore, (s) => s.findByTokenHash(w.verification.tokenHash))),
      passwordReset: some(Effect.flatMap(PasswordResetStore, (s) => s.findByTokenHash(w.reset.tokenHash))),
      formConfig: found(Effect.flatMap(FormConfigStore, (s) => s.get(appId, "signup"))),
      sessionConfig: found(Effect.flatMap(AppSessionConfigStore, (s) => s.get(appId))),
    })
    const pluginPresence = yield* Effect.all(w.pluginRows)
    return Object.assign(core, ...pluginPresence) as Record<string, boolean>
  })

const everywhere = (value: boolean, shape: Record<string, boolean>) =>
  Object.fromEntries(Object.keys(shape).map((key) => [key, value]))

export const cascadeSuite = (h: Harness<any>) =>
  describe("app deletion", () => {
    h.test(
      "deleting an app removes every row it owns in every store, and none of another app's",
      Effect.gen(function* () {
        const doomed = yield* seedWorld(h.plugins)
        const bystander = yield* seedWorld(h.plugins)
        const before = yield* presence(doomed)
        expect(before).toEqual(everywhere(true, before))

        yield* Effect.flatMap(AppStore, (apps) => apps.delete(doomed.tenant.app.id))

        const after = yield* presence(doomed)
        expect(after).toEqual(everywhere(false, after))
        const untouched = yield* presence(bystander)
        expect(untouched).toEqual(everywhere(true, untouched))
      }),
    )
  })
