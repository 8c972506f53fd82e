/** `POST /webhooks/:id/deliveries/:deliveryId/retry`: a failed delivery sent again as a new delivery of its event. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Client, signUpAndSignIn, startServer, type TestServer } from "../support/http.js"
import { type Receiver, startReceiver } from "../support/webhooks.js"

describe("retrying a webhook delivery", () => {
  let server: TestServer
  let receiver: Receiver
  let client: Client
  let token: string

  beforeAll(async () => {
    ;[server, receiver] = await Promise.all([
      startServer({
        config: { webhooks: { allowPrivateTargets: true, retrySchedule: ["100 millis"], pollInterval: "100 millis" } },
      }),
      startReceiver(),
    ])
    client = new Client(server.base)
    token = (await signUpAndSignIn(server, client)).session_token
  }, 60_000)

  afterAll(async () => {
    await receiver?.close()
    await server?.close()
  })

  const log = async (id: string) =>
    (await client.get(`/webhooks/${id}/deliveries`, { token, cookies: false })).body.deliveries as Array<any>

  it("only a failed delivery; the retry carries the same event and is delivered", async () => {
    receiver.respond = () => 500
    const hook = await client.post(
      "/webhooks",
      { url: receiver.url, events: ["user.created"] },
      { token, cookies: false },
    )
    expect(hook.status).toBe(201)
    receiver.secret = hook.body.secret
    const test = await client.post(`/webhooks/${hook.body.id}/test`, undefined, { token, cookies: false })
    expect(test.status).toBe(202)
    const retry = (deliveryId: string) =>
      client.post(`/webhooks/${hook.body.id}/deliveries/${deliveryId}/retry`, undefined, { token, cookies: false })

    await expect.poll(async () => (await log(hook.body.id))[0]?.status, { timeout: 10_000 }).toBe("failed")
    receiver.respond = () => 204
    const again = await retry(test.body.id)
    expect(again.status).toBe(202)
    expect(again.body.event_id).toBe(test.body.event_id)
    expect(again.body.id).not.toBe(test.body.id)
    await expect.poll(async () => (await log(hook.body.id))[0]?.status, { timeout: 10_000 }).toBe("delivered")
    expect((await retry(again.body.id)).status).toBe(409)
    expect((await retry("awhd_01jzzzzzzzzzzzzzzzzzzzzzzz")).status).toBe(404)
    const plain = await client.post(`/webhooks/${hook.body.id}/deliveries/${test.body.id}/retry`, undefined, {
      cookies: false,
    })
    expect(plain.status).toBe(401)
  })
})
