/**
 * The organization plugin over real HTTP on PostgreSQL (http-api.md §4): organizations, members and roles, mailed
 * invitations (the token from the mail at a real SMTP server completes the flow), teams, the session's organization,
 * and the attacks: non-members get 404 everywhere, plain members get 403 for admin actions, an invitation is only
 * for the verified address it was sent to and only in its app, a token works once, the last owner stays.
 *
 * Server A (email verification required) has a second instance "short" on the same database whose invitations
 * expire after a second and where creating an organization needs `org:create`, and a third engine "other" on that
 * database whose default app is another app.
 */
import { createHash } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { AuthsomeOptions } from "../../src/authsome.js"
import * as Organization from "../../src/plugins/organization/index.js"
import * as Password from "../../src/plugins/password/index.js"
import {
  type ApiResponse,
  type Client,
  startServer,
  strongPassword,
  type TestServer,
  uniqueEmail,
} from "../support/http.js"
import { CheckedClient, expectError, query } from "../support/security.js"
import { type ReceivedMail, verificationOf } from "../support/smtp.js"

const publicUrl = "https://app.example.com"
const config = (options: Organization.OrganizationOptionsInput = {}): AuthsomeOptions => ({
  publicUrl,
  plugins: [Password.plugin(), Organization.plugin(options)],
})

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex")

interface Person {
  readonly email: string
  readonly id: string
  readonly token: string
  readonly client: Client
}

/** The invitation token of a mail: the link is `{publicUrl}/accept-invitation?token=...`. */
const invitationToken = (mail: ReceivedMail) => {
  const match = /https:\/\/app\.example\.com\/accept-invitation\?token=([A-Za-z0-9_%-]+)/.exec(mail.text)
  expect(match, "invitation link in the mail").not.toBeNull()
  return decodeURIComponent(match![1]!)
}

/** The first mail to `to` matching `subject` that `server`'s SMTP server received after its `before`-th. */
const mailAfter = async (server: TestServer, before: number, to: string, subject: RegExp): Promise<ReceivedMail> => {
  const deadline = Date.now() + 10_000
  for (;;) {
    const mail = server.smtp.received.slice(before).find((m) => m.to.includes(to) && subject.test(m.subject))
    if (mail) return mail
    if (Date.now() > deadline) throw new Error(`no mail to ${to} matching ${subject}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe("organizations over HTTP", () => {
  let a: TestServer
  let short: TestServer
  let other: TestServer

  beforeAll(async () => {
    a = await startServer({ config: config() })
    ;[short, other] = await Promise.all([
      startServer({
        config: config({ invitationTtl: "1 second", allowUserToCreate: false }),
        databaseUrl: a.databaseUrl,
        smtp: a.smtp,
      }),
      startServer({ config: { ...config(), appId: "other" }, databaseUrl: a.databaseUrl, smtp: a.smtp }),
    ])
  })
  afterAll(async () => {
    await Promise.all([short?.close(), other?.close()])
    await a?.close()
  })

  /** A verified user of `server`'s app signed in there (through the code of the mail that sign-up sent). */
  const person = async (label: string, server = a, email = uniqueEmail(label)): Promise<Person> => {
    const client = new CheckedClient(server.base)
    const before = server.smtp.received.length
    expect((await client.post("/signup", { email, password: strongPassword })).status).toBe(201)
    const mail = await mailAfter(server, before, email, /verif/i)
    const verified = await client.post("/verify-email", { email, code: verificationOf(mail).code })
    expect(verified.status).toBe(200)
    return { email, id: verified.body.user.id, token: verified.body.session_token, client }
  }
  const as = (who: Person) => ({ token: who.token, cookies: false }) as const
  const call = (who: Person, method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    who.client.request(method, path, { ...as(who), ...(body === undefined ? {} : { body }) })

  const createOrg = async (owner: Person, label = "acme") => {
    const slug = `${label}-${Math.random().toString(36).slice(2, 10)}`
    const created = await call(owner, "POST", "/orgs", { name: `${label} Inc`, slug })
    expect(created.status).toBe(201)
    return created.body as { id: string; slug: string; name: string }
  }

  /** Invites `email` into `orgId` as `inviter` and returns the invitation and the token from the mail. */
  const invite = async (inviter: Person, orgId: string, email: string, role?: string, server = a) => {
    const before = server.smtp.received.length
    const response = await new CheckedClient(server.base).request("POST", `/orgs/${orgId}/invitations`, {
      ...as(inviter),
      body: role === undefined ? { email } : { email, role },
    })
    expect(response.status).toBe(201)
    const mail = await mailAfter(server, before, email, /invited/i)
    return { invitation: response.body, token: invitationToken(mail), mail }
  }

  /** An organization with an owner, an admin and a plain member, all joined through mailed invitations. */
  const populatedOrg = async () => {
    const [owner, admin, member] = await Promise.all([person("owner"), person("admin"), person("member")])
    const org = await createOrg(owner)
    for (const [who, role] of [
      [admin, "admin"],
      [member, "member"],
    ] as const) {
      const { token } = await invite(owner, org.id, who.email, role)
      expect((await call(who, "POST", "/orgs/invitations/accept", { token })).status).toBe(201)
    }
    const members = (await call(owner, "GET", `/orgs/${org.id}/members`)).body.members as Array<{
      id: string
      user_id: string
      role: string
    }>
    const memberIdOf = (who: Person) => members.find((m) => m.user_id === who.id)!.id
    return { org, owner, admin, member, memberIdOf }
  }

  describe("organizations", () => {
    it("create makes the caller owner; slug unique per app (409 slug_taken), reusable in another app", async () => {
      const owner = await person("creator")
      const created = await call(owner, "POST", "/orgs", {
        name: "Acme",
        slug: `acme-${Date.now()}`,
        logo: "https://img.example.com/acme.png",
        metadata: { plan: "pro" },
      })
      expect(created.status).toBe(201)
      expect(created.body).toMatchObject({
        name: "Acme",
        logo: "https://img.example.com/acme.png",
        metadata: { plan: "pro" },
        created_by: owner.id,
      })
      expect(created.body.id).toMatch(/^aorg_[0-9a-z]{26}$/)
      const org = created.body
      expectError(await call(owner, "POST", "/orgs", { name: "Again", slug: org.slug }), 409, "slug_taken")
      const stranger = await person("stranger-other-app", other)
      expect((await call(stranger, "POST", "/orgs", { name: "Elsewhere", slug: org.slug })).status).toBe(201)

      const members = await call(owner, "GET", `/orgs/${org.id}/members`)
      expect(members.body.members).toEqual([
        {
          id: expect.stringMatching(/^amem_/),
          org_id: org.id,
          user_id: owner.id,
          role: "owner",
          user: { id: owner.id, email: owner.email, first_name: null, last_name: null },
          created_at: expect.any(String),
        },
      ])
      const mine = await call(owner, "GET", "/orgs")
      expect(mine.body.organizations.map((o: { id: string }) => o.id)).toEqual([org.id])
      expect((await call(owner, "GET", `/orgs/${org.id}`)).body).toEqual(org)
      const renamed = await call(owner, "PATCH", `/orgs/${org.id}`, { name: "Acme Corp", logo: null })
      expect(renamed.status).toBe(200)
      expect(renamed.body).toMatchObject({ id: org.id, name: "Acme Corp", logo: null, slug: org.slug })
    })

    it("with allowUserToCreate off, creating one needs the app permission org:create (admins hold it)", async () => {
      const plain = await person("plain", short)
      const slug = `gated-${Date.now()}`
      expectError(await call(plain, "POST", "/orgs", { name: "Gated", slug }), 403, "forbidden")
      const [admin] = await query(a.databaseUrl, "SELECT id FROM authsome_roles WHERE slug = 'admin' AND app_id = $1", [
        (await query(a.databaseUrl, "SELECT app_id FROM authsome_users WHERE id = $1", [plain.id]))[0]!["app_id"],
      ])
      await query(
        a.databaseUrl,
        "INSERT INTO authsome_user_roles (app_id, user_id, role_id, assigned_at) SELECT app_id, id, $2, now() FROM authsome_users WHERE id = $1",
        [plain.id, admin!["id"]],
      )
      expect((await call(plain, "POST", "/orgs", { name: "Gated", slug })).status).toBe(201)
      // The default server lets anyone create one.
      expect((await call(await person("anyone"), "POST", "/orgs", { name: "Open", slug: `${slug}-open` })).status).toBe(
        201,
      )
    })

    it("bad input is 400 invalid_request", async () => {
      const owner = await person("input")
      for (const body of [
        { name: "x", slug: "Not A Slug" },
        { name: "", slug: "fine" },
        { name: "x", slug: "fine-2", logo: "javascript:alert(1)" },
      ]) {
        expectError(await call(owner, "POST", "/orgs", body), 400, "invalid_request", ["details"])
      }
    })
  })

  describe("invitations", () => {
    it("the mailed token (a link to the front end) completes the flow, once; the database holds only its hash", async () => {
      const [owner, invitee] = await Promise.all([person("inviter"), person("invitee")])
      const org = await createOrg(owner)
      const { invitation, token, mail } = await invite(owner, org.id, invitee.email, "admin")
      expect(invitation).toEqual({
        id: expect.stringMatching(/^ainv_/),
        org_id: org.id,
        email: invitee.email,
        role: "admin",
        status: "pending",
        expires_at: expect.any(String),
        created_at: expect.any(String),
      })
      const ttl = Date.parse(invitation.expires_at) - Date.parse(invitation.created_at)
      expect(ttl).toBe(7 * 24 * 3600 * 1000)
      expect(mail.subject).toContain(org.name)
      expect(mail.text).toContain("admin")

      const accepted = await call(invitee, "POST", "/orgs/invitations/accept", { token })
      expect(accepted.status).toBe(201)
      expect(accepted.body).toMatchObject({ org_id: org.id, user_id: invitee.id, role: "admin" })
      expect((await call(invitee, "GET", `/orgs/${org.id}`)).status).toBe(200)
      expect((await call(invitee, "GET", "/orgs")).body.organizations.map((o: { id: string }) => o.id)).toEqual([
        org.id,
      ])
      // A second use, by anyone, is invalid.
      expectError(await call(invitee, "POST", "/orgs/invitations/accept", { token }), 400, "invalid_code")
      expectError(await call(invitee, "POST", "/orgs/invitations/decline", { token }), 400, "invalid_code")
      const listed = await call(owner, "GET", `/orgs/${org.id}/invitations`)
      expect(listed.body.invitations).toEqual([{ ...invitation, status: "accepted" }])

      const rows = await query(a.databaseUrl, "SELECT token_hash FROM authsome_invitations WHERE id = $1", [
        invitation.id,
      ])
      expect(rows).toEqual([{ token_hash: sha256(token) }])
      await expect
        .poll(
          async () =>
            (
              await query(a.databaseUrl, "SELECT body FROM authsome_notifications WHERE recipient = $1 AND type = $2", [
                invitee.email,
                "org_invitation",
              ])
            )[0]?.["body"],
        )
        .toBeNull()
      const dump = await query(a.databaseUrl, "SELECT * FROM authsome_invitations")
      expect(JSON.stringify(dump)).not.toContain(token)
    })

    it("an invitation accepted by a different (signed-in, verified) email is refused; the invitee still can", async () => {
      const [owner, invitee, intruder] = await Promise.all([person("owner"), person("invitee"), person("intruder")])
      const org = await createOrg(owner)
      const { token } = await invite(owner, org.id, invitee.email)
      expectError(await call(intruder, "POST", "/orgs/invitations/accept", { token }), 403, "forbidden")
      expectError(await call(intruder, "POST", "/orgs/invitations/decline", { token }), 403, "forbidden")
      expectError(await call(intruder, "GET", `/orgs/${org.id}`), 404, "not_found")
      expect((await call(invitee, "POST", "/orgs/invitations/accept", { token })).status).toBe(201)
    })

    it("an account with the invited address but no verified email cannot accept", async () => {
      const [owner, invitee] = await Promise.all([person("owner"), person("unverified")])
      const org = await createOrg(owner)
      const { token } = await invite(owner, org.id, invitee.email)
      await query(a.databaseUrl, "UPDATE authsome_users SET email_verified = false WHERE id = $1", [invitee.id])
      expectError(await call(invitee, "POST", "/orgs/invitations/accept", { token }), 403, "email_not_verified")
    })

    it("a user of app B with an invitation of app A (same email, verified) gets 400 invalid_code", async () => {
      const owner = await person("owner")
      const org = await createOrg(owner)
      const email = uniqueEmail("twoapps")
      const { token } = await invite(owner, org.id, email)
      const inB = await person("twoapps", other, email)
      expectError(await call(inB, "POST", "/orgs/invitations/accept", { token }), 400, "invalid_code")
      expectError(await call(inB, "POST", "/orgs/invitations/decline", { token }), 400, "invalid_code")
      const members = await query(a.databaseUrl, "SELECT user_id FROM authsome_members WHERE org_id = $1", [org.id])
      expect(members).toEqual([{ user_id: owner.id }])
      // The same address in app A accepts it.
      const inA = await person("twoapps", a, email)
      expect((await call(inA, "POST", "/orgs/invitations/accept", { token })).status).toBe(201)
    })

    it("an expired invitation is 400 invalid_code and listed as expired", async () => {
      const [owner, invitee] = await Promise.all([person("owner"), person("late")])
      const org = await createOrg(owner)
      const { invitation, token } = await invite(owner, org.id, invitee.email, undefined, short)
      expect(Date.parse(invitation.expires_at) - Date.parse(invitation.created_at)).toBe(1000)
      await new Promise((resolve) => setTimeout(resolve, 1100))
      expectError(await call(invitee, "POST", "/orgs/invitations/accept", { token }), 400, "invalid_code")
      const listed = await call(owner, "GET", `/orgs/${org.id}/invitations`)
      expect(listed.body.invitations[0].status).toBe("expired")
    })

    it("decline; cancel; a new invitation replaces the pending one; members cannot be invited twice", async () => {
      const { org, owner, admin, member } = await populatedOrg()
      const [carol, dave] = await Promise.all([person("carol"), person("dave")])
      const first = await invite(admin, org.id, carol.email)
      expect((await call(carol, "POST", "/orgs/invitations/decline", { token: first.token })).body).toEqual({
        status: "declined",
      })
      expectError(await call(carol, "POST", "/orgs/invitations/accept", { token: first.token }), 400, "invalid_code")

      const pending = await invite(owner, org.id, dave.email)
      const replacement = await invite(owner, org.id, dave.email)
      expectError(await call(dave, "POST", "/orgs/invitations/accept", { token: pending.token }), 400, "invalid_code")
      const canceled = await call(admin, "DELETE", `/orgs/${org.id}/invitations/${replacement.invitation.id}`)
      expect(canceled.body).toEqual({ status: "canceled" })
      expectError(
        await call(admin, "DELETE", `/orgs/${org.id}/invitations/${replacement.invitation.id}`),
        409,
        "conflict",
      )
      expectError(
        await call(dave, "POST", "/orgs/invitations/accept", { token: replacement.token }),
        400,
        "invalid_code",
      )
      const statuses = (await call(owner, "GET", `/orgs/${org.id}/invitations`)).body.invitations.map(
        (i: { id: string; status: string }) => [i.id, i.status],
      )
      expect(statuses).toEqual(
        expect.arrayContaining([
          [first.invitation.id, "declined"],
          [pending.invitation.id, "canceled"],
          [replacement.invitation.id, "canceled"],
        ]),
      )
      expectError(await call(owner, "POST", `/orgs/${org.id}/invitations`, { email: member.email }), 409, "conflict")
      // Only owners invite owners; admins invite the rest.
      expectError(
        await call(admin, "POST", `/orgs/${org.id}/invitations`, { email: dave.email, role: "owner" }),
        403,
        "forbidden",
      )
    })
  })

  describe("attacks", () => {
    it("a non-member gets 404 for every route of an organization, reads and writes alike", async () => {
      const { org, owner, memberIdOf } = await populatedOrg()
      const team = (await call(owner, "POST", `/orgs/${org.id}/teams`, { name: "Core" })).body
      const { invitation } = await invite(owner, org.id, uniqueEmail("pending"))
      const mallory = await person("mallory")
      const attempts: Array<[string, string, unknown?]> = [
        ["GET", `/orgs/${org.id}`],
        ["PATCH", `/orgs/${org.id}`, { name: "pwned" }],
        ["DELETE", `/orgs/${org.id}`],
        ["GET", `/orgs/${org.id}/members`],
        ["PATCH", `/orgs/${org.id}/members/${memberIdOf(owner)}`, { role: "member" }],
        ["DELETE", `/orgs/${org.id}/members/${memberIdOf(owner)}`],
        ["POST", `/orgs/${org.id}/leave`],
        ["GET", `/orgs/${org.id}/invitations`],
        ["POST", `/orgs/${org.id}/invitations`, { email: mallory.email, role: "owner" }],
        ["DELETE", `/orgs/${org.id}/invitations/${invitation.id}`],
        ["GET", `/orgs/${org.id}/teams`],
        ["POST", `/orgs/${org.id}/teams`, { name: "Evil" }],
        ["GET", `/orgs/${org.id}/teams/${team.id}`],
        ["PATCH", `/orgs/${org.id}/teams/${team.id}`, { name: "Evil" }],
        ["DELETE", `/orgs/${org.id}/teams/${team.id}`],
        ["GET", `/orgs/${org.id}/teams/${team.id}/members`],
        ["POST", `/orgs/${org.id}/teams/${team.id}/members`, { user_id: mallory.id }],
        ["DELETE", `/orgs/${org.id}/teams/${team.id}/members/${owner.id}`],
        ["POST", "/me/switch-org", { org_id: org.id }],
      ]
      for (const [method, path, body] of attempts) {
        const response = await call(mallory, method, path, body)
        expect({ method, path, status: response.status, type: response.body?.type }).toEqual({
          method,
          path,
          status: 404,
          type: "not_found",
        })
      }
      // Unknown and malformed ids answer the same.
      for (const id of ["aorg_01m8ngjr6dewgsy7xbm9j1hvby", "nope", "ausr_01m8ngjr6dewgsy7xbm9j1hvby"]) {
        expectError(await call(mallory, "GET", `/orgs/${id}/members`), 404, "not_found")
      }
      // Nothing changed.
      const members = (await call(owner, "GET", `/orgs/${org.id}/members`)).body.members
      expect(members.map((m: { role: string }) => m.role).sort()).toEqual(["admin", "member", "owner"])
      expect((await call(owner, "GET", `/orgs/${org.id}`)).body.name).toBe(org.name)
    })

    it("a plain member gets 403 for admin actions; admins cannot touch owners or delete the org", async () => {
      const { org, owner, admin, member, memberIdOf } = await populatedOrg()
      expectError(
        await call(member, "PATCH", `/orgs/${org.id}/members/${memberIdOf(member)}`, { role: "admin" }),
        403,
        "forbidden",
      )
      expectError(
        await call(member, "PATCH", `/orgs/${org.id}/members/${memberIdOf(admin)}`, { role: "member" }),
        403,
        "forbidden",
      )
      expectError(await call(member, "DELETE", `/orgs/${org.id}/members/${memberIdOf(admin)}`), 403, "forbidden")
      expectError(await call(member, "POST", `/orgs/${org.id}/invitations`, { email: uniqueEmail() }), 403, "forbidden")
      expectError(await call(member, "GET", `/orgs/${org.id}/invitations`), 403, "forbidden")
      expectError(await call(member, "POST", `/orgs/${org.id}/teams`, { name: "Mine" }), 403, "forbidden")
      expectError(await call(member, "PATCH", `/orgs/${org.id}`, { name: "Mine" }), 403, "forbidden")
      expectError(await call(member, "DELETE", `/orgs/${org.id}`), 403, "forbidden")
      // Admins: not owners' business.
      expectError(
        await call(admin, "PATCH", `/orgs/${org.id}/members/${memberIdOf(admin)}`, { role: "owner" }),
        403,
        "forbidden",
      )
      expectError(
        await call(admin, "PATCH", `/orgs/${org.id}/members/${memberIdOf(owner)}`, { role: "member" }),
        403,
        "forbidden",
      )
      expectError(await call(admin, "DELETE", `/orgs/${org.id}/members/${memberIdOf(owner)}`), 403, "forbidden")
      expectError(await call(admin, "DELETE", `/orgs/${org.id}`), 403, "forbidden")
      // What admins may do.
      const promoted = await call(admin, "PATCH", `/orgs/${org.id}/members/${memberIdOf(member)}`, { role: "admin" })
      expect(promoted.status).toBe(200)
      expect(promoted.body).toMatchObject({ user_id: member.id, role: "admin", user: { email: member.email } })
      const renamed = await call(admin, "PATCH", `/orgs/${org.id}`, { name: "Renamed by admin" })
      expect(renamed.body.name).toBe("Renamed by admin")
    })

    it("the last owner can neither leave, nor be demoted, nor removed (409); with a second owner they can", async () => {
      const { org, owner, admin, memberIdOf } = await populatedOrg()
      expectError(await call(owner, "POST", `/orgs/${org.id}/leave`), 409, "conflict")
      expectError(
        await call(owner, "PATCH", `/orgs/${org.id}/members/${memberIdOf(owner)}`, { role: "admin" }),
        409,
        "conflict",
      )
      expectError(await call(owner, "DELETE", `/orgs/${org.id}/members/${memberIdOf(owner)}`), 409, "conflict")
      expect(
        (await call(owner, "PATCH", `/orgs/${org.id}/members/${memberIdOf(admin)}`, { role: "owner" })).status,
      ).toBe(200)
      expect((await call(owner, "POST", `/orgs/${org.id}/leave`)).body).toEqual({ status: "left" })
      expectError(await call(owner, "GET", `/orgs/${org.id}`), 404, "not_found")
      expectError(await call(admin, "POST", `/orgs/${org.id}/leave`), 409, "conflict")
    })

    it("two owners demoting each other at once: exactly one succeeds, the organization keeps an owner", async () => {
      const { org, owner, admin, memberIdOf } = await populatedOrg()
      await call(owner, "PATCH", `/orgs/${org.id}/members/${memberIdOf(admin)}`, { role: "owner" })
      const [first, second] = await Promise.all([
        call(owner, "PATCH", `/orgs/${org.id}/members/${memberIdOf(admin)}`, { role: "member" }),
        call(admin, "PATCH", `/orgs/${org.id}/members/${memberIdOf(owner)}`, { role: "member" }),
      ])
      const statuses = [first.status, second.status].sort()
      // The winner demoted the other; the loser is no longer an owner (403) or is the last one (409).
      expect(statuses[0]).toBe(200)
      expect([403, 409]).toContain(statuses[1])
      const owners = (await call(owner, "GET", `/orgs/${org.id}/members`)).body.members.filter(
        (m: { role: string }) => m.role === "owner",
      )
      expect(owners.length).toBe(1)
    })
  })

  describe("teams", () => {
    it("create (slug from the name), read, rename, members (org members only), remove, delete", async () => {
      const { org, owner, admin, member } = await populatedOrg()
      const outsider = await person("outsider")
      const created = await call(admin, "POST", `/orgs/${org.id}/teams`, { name: "Core Platform!" })
      expect(created.status).toBe(201)
      expect(created.body).toEqual({
        id: expect.stringMatching(/^atm_/),
        org_id: org.id,
        name: "Core Platform!",
        slug: "core-platform",
        created_at: expect.any(String),
      })
      const team = created.body
      expectError(
        await call(admin, "POST", `/orgs/${org.id}/teams`, { name: "Other", slug: "core-platform" }),
        409,
        "slug_taken",
      )
      expect((await call(member, "GET", `/orgs/${org.id}/teams`)).body.teams).toEqual([team])
      expect((await call(member, "GET", `/orgs/${org.id}/teams/${team.id}`)).body).toEqual(team)
      const renamed = await call(owner, "PATCH", `/orgs/${org.id}/teams/${team.id}`, { name: "Core", slug: "core" })
      expect(renamed.body).toMatchObject({ name: "Core", slug: "core" })

      const added = await call(admin, "POST", `/orgs/${org.id}/teams/${team.id}/members`, { user_id: member.id })
      expect(added.status).toBe(201)
      expect(added.body.members).toEqual([
        {
          team_id: team.id,
          user_id: member.id,
          user: { id: member.id, email: member.email, first_name: null, last_name: null },
          created_at: expect.any(String),
        },
      ])
      expectError(
        await call(admin, "POST", `/orgs/${org.id}/teams/${team.id}/members`, { user_id: member.id }),
        409,
        "conflict",
      )
      expectError(
        await call(admin, "POST", `/orgs/${org.id}/teams/${team.id}/members`, { user_id: outsider.id }),
        400,
        "invalid_request",
        ["details"],
      )
      expectError(
        await call(member, "POST", `/orgs/${org.id}/teams/${team.id}/members`, { user_id: admin.id }),
        403,
        "forbidden",
      )
      await call(admin, "POST", `/orgs/${org.id}/teams/${team.id}/members`, { user_id: admin.id })
      expect((await call(member, "GET", `/orgs/${org.id}/teams/${team.id}/members`)).body.members.length).toBe(2)
      expect((await call(admin, "DELETE", `/orgs/${org.id}/teams/${team.id}/members/${admin.id}`)).body).toEqual({
        status: "removed",
      })
      expectError(await call(admin, "DELETE", `/orgs/${org.id}/teams/${team.id}/members/${admin.id}`), 404, "not_found")

      // A team of another organization is not found through this one.
      const elsewhere = await createOrg(owner, "elsewhere")
      const foreignTeam = (await call(owner, "POST", `/orgs/${elsewhere.id}/teams`, { name: "Foreign" })).body
      expectError(await call(member, "GET", `/orgs/${org.id}/teams/${foreignTeam.id}`), 404, "not_found")

      // Leaving the organization leaves its teams.
      expect((await call(member, "POST", `/orgs/${org.id}/leave`)).status).toBe(200)
      expect((await call(admin, "GET", `/orgs/${org.id}/teams/${team.id}/members`)).body.members).toEqual([])
      expect((await call(admin, "DELETE", `/orgs/${org.id}/teams/${team.id}`)).body).toEqual({ status: "deleted" })
      expectError(await call(admin, "GET", `/orgs/${org.id}/teams/${team.id}`), 404, "not_found")
    })
  })

  describe("the session's organization and deletion", () => {
    it("switch-org sets the session's org_id (members only; null clears); leaving clears it; keys cannot switch", async () => {
      const { org, member } = await populatedOrg()
      const switched = await call(member, "POST", "/me/switch-org", { org_id: org.id })
      expect(switched.status).toBe(200)
      const session = (await call(member, "GET", "/session")).body.session
      expect(switched.body).toEqual({ session_id: session.id, org_id: org.id })
      expect(session.org_id).toBe(org.id)
      expect((await call(member, "POST", "/me/switch-org", { org_id: null })).body).toEqual({
        session_id: session.id,
        org_id: null,
      })
      await call(member, "POST", "/me/switch-org", { org_id: org.id })
      await call(member, "POST", `/orgs/${org.id}/leave`)
      expect((await call(member, "GET", "/session")).body.session.org_id).toBeNull()
      expectError(await call(member, "POST", "/me/switch-org", { org_id: org.id }), 404, "not_found")

      const key = (await call(member, "POST", "/keys", { name: "ci" })).body.key
      const viaKey = await member.client.request("POST", "/me/switch-org", {
        cookies: false,
        headers: { "x-api-key": key },
        body: { org_id: null },
      })
      expectError(viaKey, 403, "forbidden")
    })

    it("deleting an organization (owner) removes its members, teams, team members and invitations", async () => {
      const { org, owner, admin, member } = await populatedOrg()
      const team = (await call(owner, "POST", `/orgs/${org.id}/teams`, { name: "Doomed" })).body
      await call(owner, "POST", `/orgs/${org.id}/teams/${team.id}/members`, { user_id: member.id })
      await invite(owner, org.id, uniqueEmail("pending"))
      await call(member, "POST", "/me/switch-org", { org_id: org.id })
      const count = async (table: string, column = "org_id", id = org.id) =>
        (await query(a.databaseUrl, `SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [id]))[0]!["n"]
      expect(await count("authsome_members")).toBe(3)
      expect(await count("authsome_team_members", "team_id", team.id)).toBe(1)

      expect((await call(owner, "DELETE", `/orgs/${org.id}`)).body).toEqual({ status: "deleted" })
      for (const table of ["authsome_organizations", "authsome_members", "authsome_teams", "authsome_invitations"]) {
        expect(await count(table, table === "authsome_organizations" ? "id" : "org_id"), table).toBe(0)
      }
      expect(await count("authsome_team_members", "team_id", team.id)).toBe(0)
      expect((await call(member, "GET", "/session")).body.session.org_id).toBeNull()
      for (const who of [owner, admin, member]) expectError(await call(who, "GET", `/orgs/${org.id}`), 404, "not_found")
      expect((await call(member, "GET", "/orgs")).body.organizations).toEqual([])
    })
  })

  describe("events", () => {
    it("org changes are audited and queued for subscribed webhooks in the same transaction", async () => {
      const owner = await person("events")
      const [app] = await query(a.databaseUrl, "SELECT app_id, env_id FROM authsome_users WHERE id = $1", [owner.id])
      const webhookId = `awhk_${Date.now()}`
      await query(
        a.databaseUrl,
        `INSERT INTO authsome_webhooks (id, app_id, env_id, url, events, secret, active, created_at, updated_at)
         VALUES ($1, $2, $3, 'https://hooks.example.com/x', $4, 'whsec_x', true, now(), now())`,
        [webhookId, app!["app_id"], app!["env_id"], ["org.created", "org.member.invited", "org.deleted"]],
      )
      const org = await createOrg(owner, "evented")
      const invitee = uniqueEmail("evented")
      await invite(owner, org.id, invitee)
      await call(owner, "DELETE", `/orgs/${org.id}`)
      const audited = await query(
        a.databaseUrl,
        "SELECT type, metadata FROM authsome_audit_events WHERE user_id = $1 AND type LIKE 'org.%' ORDER BY id",
        [owner.id],
      )
      expect(audited.map((e) => e["type"])).toEqual(["org.created", "org.member.invited", "org.deleted"])
      expect(audited[1]!["metadata"]).toMatchObject({ org_id: org.id, email: invitee, role: "member" })
      const deliveries = await query(
        a.databaseUrl,
        "SELECT event_type, payload FROM authsome_webhook_deliveries WHERE webhook_id = $1 ORDER BY id",
        [webhookId],
      )
      expect(deliveries.map((d) => d["event_type"])).toEqual(["org.created", "org.member.invited", "org.deleted"])
      expect(deliveries[0]!["payload"]).toMatchObject({ type: "org.created", data: { org_id: org.id } })
    })
  })
})
