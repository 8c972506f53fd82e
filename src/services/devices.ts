/** Devices: one row per user and User-Agent, with browser, OS and type parsed from the agent string. */
import { Clock, Effect } from "effect"
import { NotFound } from "../domain/errors.js"
import { type DeviceId, isId, newId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import type { ClientContext } from "./context.js"
import { sha256Hex } from "./crypto.js"
import { DeviceStore } from "./store/index.js"

export interface ParsedAgent {
  readonly browser: string | null
  readonly os: string | null
  readonly type: M.DeviceType
}

// Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
const browsers: ReadonlyArray<readonly [RegExp, string]> = [
  [/Edg(?:e|A|iOS)?\//, "Edge"],
  [/OPR\/|Opera/, "Opera"],
  [/SamsungBrowser\//, "Samsung Internet"],
  [/Firefox\/|FxiOS\//, "Firefox"],
  [/Chrome\/|CriOS\//, "Chrome"],
  [/Safari\//, "Safari"],
  [/MSIE |Trident\//, "Internet Explorer"],
  [/curl\//, "curl"],
]

const systems: ReadonlyArray<readonly [RegExp, string]> = [
  [/iPhone|iPad|iPod/, "iOS"],
  [/Android/, "Android"],
  [/Windows/, "Windows"],
  [/CrOS/, "ChromeOS"],
  [/Mac OS X|Macintosh/, "macOS"],
  [/Linux/, "Linux"],
]

export const parseUserAgent = (agent: string): ParsedAgent => {
  const browser = browsers.find(([pattern]) => pattern.test(agent))?.[1] ?? null
  const os = systems.find(([pattern]) => pattern.test(agent))?.[1] ?? null
  const type: M.DeviceType = /iPad|Tablet|Nexus (7|9|10)|SM-T/.test(agent)
    ? "tablet"
    : /Mobi|iPhone|Android/.test(agent)
      ? "mobile"
      : os !== null
        ? "desktop"
        : "unknown"
  return { browser, os, type }
}

export class Devices extends Effect.Service<Devices>()("authsome/Devices", {
  effect: Effect.gen(function* () {
    const devices = yield* DeviceStore
    /**
     * The device row of this request's User-Agent, for `SessionStore.create` to upsert with the session (an
     * existing row of the same user and fingerprint keeps its id); none without a User-Agent.
     */
    const sighting = (user: M.User, ctx: ClientContext, now: Date): M.Device | undefined => {
      if (ctx.userAgent === null) return undefined
      const parsed = parseUserAgent(ctx.userAgent)
      return {
        id: newId.device(),
        appId: user.appId,
        envId: user.envId,
        userId: user.id,
        name: [parsed.browser, parsed.os].filter((part) => part !== null).join(" on ") || null,
        type: parsed.type,
        browser: parsed.browser,
        os: parsed.os,
        ipAddress: ctx.ip,
        fingerprint: sha256Hex(ctx.userAgent),
        trusted: false,
        lastSeenAt: now,
        createdAt: now,
        updatedAt: now,
      }
    }

    /** One of the user's own devices; another user's (or a malformed id) is `NotFound`. */
    const getOwn = (user: M.User, id: string) =>
      isId("device", id)
        ? Effect.flatMap(devices.get(id as DeviceId), (device) =>
            device.userId === user.id ? Effect.succeed(device) : Effect.fail(new NotFound({ entity: "device" })),
          )
        : Effect.fail(new NotFound({ entity: "device" }))

    const listForUser = (user: M.User) => devices.listByUser(user.id)
    const forget = (user: M.User, id: string) => Effect.flatMap(getOwn(user, id), (device) => devices.delete(device.id))
    const trust = (user: M.User, id: string) =>
      Effect.flatMap(getOwn(user, id), (device) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => devices.setTrusted(device.id, true, new Date(now))),
      )

    return { sighting, getOwn, listForUser, forget, trust } as const
  }),
}) {}
