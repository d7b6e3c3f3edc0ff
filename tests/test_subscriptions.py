"""The live lead feed over graphql-transport-ws, through a real uvicorn server."""

import asyncio
import json

import websockets

from leadwire.core import auth, identity
from leadwire.core.models.identity import Membership

from factories import make_account, make_lead, make_user, viewer_for

SUBSCRIBE = "subscription { leadEvents { kind lead { firstName assignee { name } } } }"


async def open_feed(server: str, token: str, origin: str | None = None):
    headers = {"Origin": origin} if origin else None
    ws = await websockets.connect(
        f"ws://{server}/graphql", subprotocols=["graphql-transport-ws"], additional_headers=headers
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    return ws


async def next_message(ws, timeout=5.0):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def wait_for_subscribers(n: int) -> None:
    from leadwire.core.events import bus

    for _ in range(500):
        if bus.subscriber_count >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {n} subscribers, have {bus.subscriber_count}")


async def test_feed_delivers_only_what_each_viewer_may_see_and_ends_when_barred(live_server):
    account, owner = await make_account()
    manager = await make_user(owner)
    rep_a = await make_user(owner, manager=manager)
    rep_b = await make_user(owner, manager=manager)
    _, other_owner = await make_account()
    lead = await make_lead(account.id, rep_a, first_name="Jordan")

    tokens = {}
    for name, m in (("manager", manager), ("rep_b", rep_b), ("other", await Membership.get(id=other_owner.membership_id))):
        _, tokens[name] = await auth.create_api_token(await viewer_for(m), name="feed")
    feeds = {name: await open_feed(live_server, t) for name, t in tokens.items()}
    await wait_for_subscribers(3)

    # The manager's feed sees its rep's lead move to the other rep; the
    # other rep sees it arrive; the other account sees nothing.
    await identity.reassign_leads(owner, rep_a.id, rep_b.id)
    for name in ("manager", "rep_b"):
        msg = await next_message(feeds[name])
        assert msg["type"] == "next", msg
        assert msg["payload"]["data"]["leadEvents"]["lead"]["firstName"] == "Jordan"
        assert msg["payload"]["data"]["leadEvents"]["kind"] == "ASSIGNED"
    try:
        await next_message(feeds["other"], timeout=0.5)
        raise AssertionError("another account's feed received a lead event")
    except asyncio.TimeoutError:
        pass

    # Barred: the next event ends rep_b's feed instead of delivering it.
    await identity.bar_user(owner, rep_b.id)
    await identity.reassign_leads(owner, rep_b.id, rep_a.id)
    msg = await next_message(feeds["rep_b"])
    assert msg["type"] == "complete", msg
    msg = await next_message(feeds["manager"])
    assert msg["payload"]["data"]["leadEvents"]["lead"]["assignee"]["name"] == (await rep_a.person).name
    for ws in feeds.values():
        await ws.close()
    assert lead.id


async def test_feed_refuses_unauthenticated_and_cross_site_origins(live_server):
    ws = await websockets.connect(f"ws://{live_server}/graphql", subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    msg = await next_message(ws)
    assert msg["type"] == "error"
    assert msg["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await ws.close()

    try:
        await websockets.connect(
            f"ws://{live_server}/graphql", subprotocols=["graphql-transport-ws"],
            additional_headers={"Origin": "https://evil.example"},
        )
        raise AssertionError("a cross-site origin opened the feed")
    except websockets.exceptions.InvalidStatus as exc:
        assert exc.response.status_code == 403


async def test_a_sale_reaches_the_buyers_feed_the_moment_it_is_made(live_server):
    from market import Market
    from test_routing import TUESDAY_3PM_DETROIT

    from leadwire.core import routing

    market = await Market().setup()
    offer = await market.offer(market.local, 2500)
    _, buyer = await market.partner()
    _, other = await market.partner()
    await market.campaign(buyer, offer)
    _, buyer_token = await auth.create_api_token(buyer, name="feed")
    _, other_token = await auth.create_api_token(other, name="feed")
    buyer_feed = await open_feed(live_server, buyer_token)
    other_feed = await open_feed(live_server, other_token)
    await wait_for_subscribers(2)
    lead = await market.lead()
    await routing.route_lead(lead.id, at=TUESDAY_3PM_DETROIT)
    msg = await next_message(buyer_feed)
    assert msg["payload"]["data"]["leadEvents"]["kind"] == "SOLD"
    assert msg["payload"]["data"]["leadEvents"]["lead"]["firstName"] == "Casey"
    try:
        await next_message(other_feed, timeout=0.5)
        raise AssertionError("a partner saw another partner's sale")
    except asyncio.TimeoutError:
        pass
    await buyer_feed.close()
    await other_feed.close()


async def test_sales_from_another_process_reach_this_processes_feed(db):
    """The tailer publishes sales it did not publish itself (another API process
    made them), once each."""
    from market import Market
    from test_routing import TUESDAY_3PM_DETROIT

    from leadwire.core import routing
    from leadwire.core.events import EventBus, SaleTailer
    from leadwire.core.models.marketplace import LeadSale

    market = await Market().setup()
    offer = await market.offer(market.local, 2500)
    account, buyer = await market.partner()
    await market.campaign(buyer, offer)
    here = EventBus()
    tailer = SaleTailer(here)
    await tailer.start_position()
    received = []

    async def listen():
        async for event in here.subscribe(account.id):
            received.append(event)

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0)
    # routing publishes to the module bus, not to `here`: as if in another process
    await routing.route_lead((await market.lead()).id, at=TUESDAY_3PM_DETROIT)
    await routing.route_lead((await market.lead()).id, at=TUESDAY_3PM_DETROIT)
    assert await tailer.poll_once() == 2
    assert await tailer.poll_once() == 0  # never twice
    await asyncio.sleep(0)
    listener.cancel()
    sales = await LeadSale.filter(account_id=account.id).order_by("id").values_list("id", flat=True)
    assert [e.sale_id for e in received] == list(sales)
