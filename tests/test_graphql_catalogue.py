"""What a frontend needs to build the catalogue and campaign forms: the
installed industry schemas (fields, labels, choices, filters) and whose
campaign is whose."""

from test_graphql_marketplace import funded_partner, world  # noqa: F401  (fixture)


async def test_industry_schemas_describe_fields_and_filters(world):
    data = await world["op"].data("""{ industrySchemas { key name fields { name type label required choices derived }
        filters { field op label } } industries { schemaKey leadSchema { key fields { name } } } }""")
    schemas = {s["key"]: s for s in data["industrySchemas"]}
    assert {"moving", "solar", "legal", "insurance", "mortgage"} <= set(schemas)
    moving = schemas["moving"]
    size = next(f for f in moving["fields"] if f["name"] == "move_size")
    assert size["type"] == "CHOICE" and size["required"] and size["choices"][0] == "studio" and size["label"]
    assert next(f for f in moving["fields"] if f["name"] == "move_type")["derived"] is True
    assert {"field": "move_type", "op": "IN"} in [{k: f[k] for k in ("field", "op")} for f in moving["filters"]]
    [industry] = data["industries"]
    assert industry["schemaKey"] == "moving" and industry["leadSchema"]["key"] == "moving"


async def test_campaigns_name_their_partner(world, client_factory):
    partner = await funded_partner(client_factory, "Acme Movers")
    await partner.data("mutation($i: ActivateOfferInput!) { activateOffer(input: $i) { campaign { id } } }",
                       {"i": {"offerId": world["offer_id"]}})
    op = await world["op"].data("{ campaigns(first: 5) { edges { node { partnerName } } } }")
    assert [e["node"]["partnerName"] for e in op["campaigns"]["edges"]] == ["Acme Movers"]
