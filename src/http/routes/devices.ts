/** Device routes: the signed-in user's devices (http-api.md §3). */
import { Effect, Schema } from "effect"
import { json, status } from "../../plugin/kit.js"
import { sessionRoute } from "../../plugin/route.js"
import { Devices } from "../../services/devices.js"
import { DeviceJson, deviceJson, StatusJson } from "../schemas.js"

export const deviceRoutes = Effect.gen(function* () {
  const devices = yield* Devices

  const list = sessionRoute({
    method: "GET",
    path: "/devices",
    tag: "Devices",
    summary: "The signed-in user's devices",
    responses: { 200: { description: "devices", schema: Schema.Struct({ devices: Schema.Array(DeviceJson) }) } },
    handler: (request) =>
      Effect.map(devices.listForUser(request.auth.user), (all) => json(200, { devices: all.map(deviceJson) })),
  })

  const get = sessionRoute({
    method: "GET",
    path: "/devices/:id",
    tag: "Devices",
    summary: "One of the signed-in user's devices",
    responses: { 200: { description: "the device", schema: DeviceJson } },
    handler: (request) =>
      Effect.map(devices.getOwn(request.auth.user, request.params["id"] ?? ""), (device) =>
        json(200, deviceJson(device)),
      ),
  })

  const forget = sessionRoute({
    method: "DELETE",
    path: "/devices/:id",
    tag: "Devices",
    summary: "Forget a device",
    responses: { 200: { description: "deleted", schema: StatusJson } },
    handler: (request) => Effect.as(devices.forget(request.auth.user, request.params["id"] ?? ""), status("deleted")),
  })

  const trust = sessionRoute({
    method: "PATCH",
    path: "/devices/:id/trust",
    tag: "Devices",
    summary: "Mark a device as trusted",
    responses: { 200: { description: "the trusted device", schema: DeviceJson } },
    handler: (request) =>
      Effect.map(devices.trust(request.auth.user, request.params["id"] ?? ""), (device) =>
        json(200, deviceJson(device)),
      ),
  })

  return [list, get, forget, trust]
})
