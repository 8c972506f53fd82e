import { Effect, Option } from "effect"
import { describe, expect } from "vitest"
import { newId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import { AuditStore, DeviceStore, type RotateSession, SessionStore } from "../../services/store/index.js"
import { at, DAY, HOUR, hash, MINUTE, makeAuditEvent, makeDevice, makeSession, sweepEpoch } from "../fixtures.js"
import { expectFailure, expectNone, getSome, type Harness, race } from "../harness.js"
import { seedOrg, seedSession, seedTenant, seedUser } from "../seed.js"

/** A rotation of `session` to fresh hashes, applying while it still holds `expected`. */
const rotation = (session: M.Session, expected = session.refreshTokenHash): RotateSession => ({
  id: session.id,
  expectedRefreshTokenHash: expected,
  tokenHash: hash(),
  refreshTokenHash: hash(),
  expiresAt: at(2 * HOUR),
  refreshTokenExpiresAt: at(31 * DAY),
  now: at(HOUR),
})

const seedUserWithSession = Effect.gen(function* () {
  const tenant = yield* seedTenant()
  const user = yield* seedUser(tenant)
  const session = yield* seedSession(user)
  return { tenant, user, session }
})

const sessionIds = (userId: M.User["id"]) =>
  Effect.flatMap(SessionStore, (sessions) => sessions.listByUser(userId)).pipe(
    Effect.map((list) => list.map((s) => s.id)),
  )

export const sessionsSuite = (h: Harness) =>
  describe("SessionStore", () => {
    h.test(
      "create returns the session; get and both hash lookups find it (with the live user); unknown ones miss",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const { user, session } = yield* seedUserWithSession
        expect(yield* sessions.get(session.id)).toEqual(session)
        expect(yield* getSome(sessions.findByTokenHash(session.tokenHash))).toEqual({ session, user })
        expect(yield* getSome(sessions.findByRefreshTokenHash(session.refreshTokenHash))).toEqual(session)
        yield* expectFailure(sessions.get(newId.session()), "NotFound")
        yield* expectNone(sessions.findByTokenHash(hash()))
        yield* expectNone(sessions.findByRefreshTokenHash(hash()))
        // The two hashes are not interchangeable.
        yield* expectNone(sessions.findByTokenHash(session.refreshTokenHash))
      }),
    )

    h.test(
      "create with audit events writes them all; the events are listed for the user",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const audit = yield* AuditStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const session = makeSession(user)
        const event = makeAuditEvent(tenant, {
          userId: user.id,
          type: "auth.signin",
          metadata: { session_id: session.id },
        })
        const created = makeAuditEvent(tenant, {
          userId: user.id,
          type: "session.created",
          metadata: { session_id: session.id },
        })
        expect(yield* sessions.create(session, [event, created])).toEqual(session)
        expect(yield* sessions.get(session.id)).toEqual(session)
        const listed = yield* audit.list(tenant.app.id, { userId: user.id, limit: 10 })
        expect(listed.items.map((e) => e.id).sort()).toEqual([event.id, created.id].sort())
        expect(listed.items.find((e) => e.id === event.id)).toMatchObject({
          type: "auth.signin",
          metadata: { session_id: session.id },
        })
      }),
    )

    h.test(
      "create with a device upserts it with the session: a new one is inserted, a known fingerprint keeps its row",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const devices = yield* DeviceStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        const device = makeDevice(user, { lastSeenAt: at(HOUR) })
        const first = makeSession(user, { deviceId: device.id })
        expect(yield* sessions.create(first, [], device)).toEqual(first)
        expect(yield* devices.get(device.id)).toEqual(device)
        // Seen again: the session names the existing row whatever id the new sighting carried.
        const again = makeDevice(user, {
          fingerprint: device.fingerprint,
          lastSeenAt: at(2 * HOUR),
          ipAddress: "198.51.100.7",
        })
        const second = makeSession(user, { deviceId: again.id })
        const event = makeAuditEvent(tenant, { userId: user.id, type: "session.created" })
        expect(yield* sessions.create(second, [event], again)).toEqual({ ...second, deviceId: device.id })
        expect(yield* sessions.get(second.id)).toEqual({ ...second, deviceId: device.id })
        expect(yield* devices.listByUser(user.id)).toEqual([
          { ...device, lastSeenAt: at(2 * HOUR), ipAddress: "198.51.100.7", updatedAt: again.updatedAt },
        ])
        yield* expectFailure(devices.get(again.id), "NotFound")
        // The same fingerprint for another user is that user's own device.
        const other = yield* seedUser(tenant)
        const theirs = makeDevice(other, { fingerprint: device.fingerprint })
        expect((yield* sessions.create(makeSession(other), [], theirs)).deviceId).toBe(theirs.id)
      }),
    )

    h.test(
      "rotate swaps in the new hashes and records the old refresh hash as revoked (rotated)",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const { user, session } = yield* seedUserWithSession
        const input = rotation(session)
        const rotated = yield* getSome(sessions.rotate(input))
        expect(rotated).toMatchObject({
          id: session.id,
          familyId: session.familyId,
          userId: user.id,
          tokenHash: input.tokenHash,
          refreshTokenHash: input.refreshTokenHash,
          expiresAt: input.expiresAt,
          refreshTokenExpiresAt: input.refreshTokenExpiresAt,
        })
        expect(yield* sessions.get(session.id)).toEqual(rotated)
        expect((yield* getSome(sessions.findByTokenHash(input.tokenHash))).session.id).toBe(session.id)
        yield* expectNone(sessions.findByTokenHash(session.tokenHash))
        yield* expectNone(sessions.findByRefreshTokenHash(session.refreshTokenHash))
        expect(yield* getSome(sessions.findRevokedRefreshToken(session.refreshTokenHash))).toEqual({
          tokenHash: session.refreshTokenHash,
          familyId: session.familyId,
          appId: session.appId,
          userId: user.id,
          reason: "rotated",
          revokedAt: input.now,
          replayedAt: null,
          successorHash: input.refreshTokenHash,
        })
        yield* expectNone(sessions.findRevokedRefreshToken(input.refreshTokenHash))
      }),
    )

    h.test(
      "rotate with a stale expected hash, or of an unknown session, is None and changes nothing",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const { session } = yield* seedUserWithSession
        yield* expectNone(sessions.rotate(rotation(session, hash())))
        yield* expectNone(sessions.rotate({ ...rotation(session), id: newId.session() }))
        expect(yield* sessions.get(session.id)).toEqual(session)
        yield* expectNone(sessions.findRevokedRefreshToken(session.refreshTokenHash))
      }),
    )

    h.test(
      "20 concurrent rotations with the same expected hash: exactly one wins; the replay is flagged once",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const { session } = yield* seedUserWithSession
        const attempts = Array.from({ length: 20 }, () => rotation(session))
        const results = yield* race(20, (i) => sessions.rotate(attempts[i]!))
        const winners = results.filter(Option.isSome).map((o) => o.value)
        expect(winners).toHaveLength(1)
        expect((yield* sessions.get(session.id)).refreshTokenHash).toBe(winners[0]!.refreshTokenHash)
        const revoked = yield* getSome(sessions.findRevokedRefreshToken(session.refreshTokenHash))
        expect(revoked.reason).toBe("rotated")
        expect(revoked.successorHash).toBe(winners[0]!.refreshTokenHash)
        expect(yield* sessions.markReplayed(session.refreshTokenHash, at(2 * HOUR))).toBe(true)
        expect(yield* sessions.markReplayed(session.refreshTokenHash, at(3 * HOUR))).toBe(false)
        const replayed = yield* getSome(sessions.findRevokedRefreshToken(session.refreshTokenHash))
        expect(replayed.replayedAt?.getTime()).toBe(at(2 * HOUR).getTime())
        expect(yield* sessions.markReplayed(hash(), at(2 * HOUR))).toBe(false)
      }),
    )

    h.test(
      "touch stamps lastActivityAt; setOrganization sets and clears the organization (NotFound if unknown)",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const { user, session } = yield* seedUserWithSession
        yield* sessions.touch(session.id, at(HOUR))
        expect((yield* sessions.get(session.id)).lastActivityAt).toEqual(at(HOUR))
        yield* sessions.touch(newId.session(), at(HOUR))
        const org = yield* seedOrg(user)
        expect((yield* sessions.setOrganization(session.id, org.id, at(HOUR))).orgId).toBe(org.id)
        expect((yield* sessions.get(session.id)).orgId).toBe(org.id)
        expect((yield* sessions.setOrganization(session.id, null, at(HOUR))).orgId).toBeNull()
        yield* expectFailure(sessions.setOrganization(newId.session(), org.id, at(HOUR)), "NotFound")
      }),
    )

    h.test(
      "clearOrganization clears that organization on the user's sessions only and counts them",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const { tenant, user, session } = yield* seedUserWithSession
        const [org, other] = [yield* seedOrg(user), yield* seedOrg(user)]
        yield* sessions.setOrganization(session.id, org.id, at(HOUR))
        const second = yield* seedSession(user, { orgId: org.id })
        const elsewhere = yield* seedSession(user, { orgId: other.id })
        const colleague = yield* seedSession(yield* seedUser(tenant), { orgId: org.id })
        expect(yield* sessions.clearOrganization(user.id, org.id, at(2 * HOUR))).toBe(2)
        const cleared = yield* sessions.get(second.id)
        expect({ orgId: cleared.orgId, updatedAt: cleared.updatedAt }).toEqual({ orgId: null, updatedAt: at(2 * HOUR) })
        expect((yield* sessions.get(session.id)).orgId).toBeNull()
        expect((yield* sessions.get(elsewhere.id)).orgId).toBe(other.id)
        expect((yield* sessions.get(colleague.id)).orgId).toBe(org.id)
        expect(yield* sessions.clearOrganization(user.id, org.id, at(2 * HOUR))).toBe(0)
      }),
    )

    h.test(
      "listByUser is newest first and only the user's; delete is true once, then false",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const { tenant, user, session: first } = yield* seedUserWithSession
        const second = yield* seedSession(user)
        const third = yield* seedSession(user)
        yield* seedSession(yield* seedUser(tenant))
        expect(yield* sessions.listByUser(user.id)).toEqual([third, second, first])
        expect(yield* sessions.delete(second.id)).toBe(true)
        expect(yield* sessions.delete(second.id)).toBe(false)
        yield* expectFailure(sessions.get(second.id), "NotFound")
        expect(yield* sessionIds(user.id)).toEqual([third.id, first.id])
      }),
    )

    h.test(
      "deleteByUser removes the user's sessions except `keep` and counts them; other users keep theirs",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const { tenant, user, session: first } = yield* seedUserWithSession
        const kept = yield* seedSession(user)
        yield* seedSession(user)
        const bystander = yield* seedUser(tenant)
        const theirs = yield* seedSession(bystander)
        expect(yield* sessions.deleteByUser(user.id, kept.id)).toBe(2)
        expect(yield* sessionIds(user.id)).toEqual([kept.id])
        yield* expectFailure(sessions.get(first.id), "NotFound")
        expect(yield* sessions.deleteByUser(user.id)).toBe(1)
        expect(yield* sessionIds(user.id)).toEqual([])
        expect(yield* sessionIds(bystander.id)).toEqual([theirs.id])
      }),
    )

    h.test(
      "revokeFamily removes exactly the family's sessions and records their refresh hashes (family_revoked)",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const { user, session: a } = yield* seedUserWithSession
        const b = yield* seedSession(user, { familyId: a.familyId })
        const other = yield* seedSession(user)
        expect(yield* sessions.revokeFamily(a.familyId, at(HOUR))).toBe(2)
        expect(yield* sessionIds(user.id)).toEqual([other.id])
        for (const gone of [a, b]) {
          yield* expectFailure(sessions.get(gone.id), "NotFound")
          expect(yield* getSome(sessions.findRevokedRefreshToken(gone.refreshTokenHash))).toEqual({
            tokenHash: gone.refreshTokenHash,
            familyId: a.familyId,
            appId: a.appId,
            userId: user.id,
            reason: "family_revoked",
            revokedAt: at(HOUR),
            replayedAt: null,
            successorHash: null,
          })
        }
        yield* expectNone(sessions.findRevokedRefreshToken(other.refreshTokenHash))
        expect(yield* sessions.revokeFamily(a.familyId, at(HOUR))).toBe(0)
      }),
    )

    h.test(
      "countActive counts the app's sessions whose refresh token has not expired",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const tenant = yield* seedTenant()
        const user = yield* seedUser(tenant)
        yield* seedSession(user, { refreshTokenExpiresAt: at(HOUR) })
        yield* seedSession(user, { refreshTokenExpiresAt: at(DAY) })
        yield* seedSession(user, { refreshTokenExpiresAt: at(DAY), expiresAt: at(MINUTE) })
        yield* seedSession(yield* seedUser(yield* seedTenant()))
        expect(yield* sessions.countActive(tenant.app.id, at(2 * HOUR))).toBe(2)
        expect(yield* sessions.countActive(tenant.app.id, at(0))).toBe(3)
      }),
    )

    const epoch = sweepEpoch()
    h.test(
      "deleteExpired deletes the sessions whose refresh token expired before now, and counts them",
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const user = yield* seedUser(yield* seedTenant())
        const past = { createdAt: epoch(0), updatedAt: epoch(0), lastActivityAt: epoch(0), expiresAt: epoch(HOUR) }
        const expired = [
          yield* seedSession(user, { ...past, refreshTokenExpiresAt: epoch(HOUR) }),
          yield* seedSession(user, { ...past, refreshTokenExpiresAt: epoch(2 * HOUR) }),
        ]
        const live = yield* seedSession(user, { ...past, refreshTokenExpiresAt: epoch(DAY) })
        expect(yield* sessions.deleteExpired(epoch(3 * HOUR))).toBe(2)
        for (const s of expired) yield* expectFailure(sessions.get(s.id), "NotFound")
        expect(yield* sessions.get(live.id)).toEqual(live)
        expect(yield* sessions.deleteExpired(epoch(3 * HOUR))).toBe(0)
      }),
    )
  })
