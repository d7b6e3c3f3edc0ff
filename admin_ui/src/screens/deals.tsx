import { useState } from "preact/hooks";
import { request } from "../api";
import { graphql } from "../gql";
import { useForm, usePaged, useQuery } from "../hooks";
import { idPath, navigate } from "../router";
import { useSession } from "../session";
import { Badge, ErrorBox, LoadMore, Money, Notice, PageTitle, TableWrap } from "../ui/common";
import { ErrorSummary, SelectField } from "../ui/forms";

export const IndustriesDoc = graphql(`
  query Industries {
    industries {
      id
      name
      schemaKey
      active
      products {
        id
        name
        maxBuyers
        active
      }
    }
  }
`);

const OffersDoc = graphql(`
  query Offers($industryId: ID, $productId: ID, $first: Int, $after: String) {
    offers(industryId: $industryId, productId: $productId, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          id
          name
          exclusive
          defaultDailyCap
          price {
            amountMinor
            currency
          }
          product {
            id
            name
            maxBuyers
            industry {
              id
              name
            }
          }
        }
      }
    }
  }
`);

const ActivateDoc = graphql(`
  mutation ActivateOffer($input: ActivateOfferInput!) {
    activateOffer(input: $input) {
      campaign {
        id
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

export function Deals() {
  const { isOwner } = useSession();
  const industries = useQuery(IndustriesDoc, {});
  const [industryId, setIndustryId] = useState("");
  const [productId, setProductId] = useState("");
  const [search, setSearch] = useState<{ industryId: string | null; productId: string | null }>({ industryId: null, productId: null });
  const offers = usePaged(OffersDoc, search, (d) => d.offers);
  const activate = useForm();
  const [activating, setActivating] = useState<string | null>(null);
  const list = industries.data?.industries.filter((i) => i.active) ?? [];
  const products = list.find((i) => i.id === industryId)?.products.filter((p) => p.active) ?? [];

  return (
    <>
      <PageTitle>Lead Deals</PageTitle>
      <p>Pick your industry and product, then activate an offer: that creates a campaign for you to set up.</p>
      {!isOwner && <Notice>Only the account owner can activate offers.</Notice>}
      {industries.error && <ErrorBox message={industries.error} retry={industries.reload} />}
      <form
        class="inline-form card"
        role="search"
        aria-label="Search Lead Deals"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch({ industryId: industryId || null, productId: productId || null });
        }}
      >
        <SelectField
          name="industry"
          label="Industry"
          value={industryId}
          onValue={(v) => {
            setIndustryId(v);
            setProductId("");
          }}
          options={[{ value: "", label: "All industries" }, ...list.map((i) => ({ value: i.id, label: i.name }))]}
        />
        <SelectField
          name="product"
          label="Product (category)"
          value={productId}
          onValue={setProductId}
          disabled={!industryId}
          options={[{ value: "", label: industryId ? "All products" : "Choose an industry first" }, ...products.map((p) => ({ value: p.id, label: p.name }))]}
        />
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      <ErrorSummary errors={activate.errors} title="Could not activate" />
      <TableWrap label="Offers">
        <table>
          <caption class="visually-hidden">Offers</caption>
          <thead>
            <tr>
              <th scope="col">Offer</th>
              <th scope="col">Industry · product</th>
              <th scope="col">Price per lead</th>
              <th scope="col">Type</th>
              <th scope="col">Default daily cap</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {offers.items.map((o) => (
              <tr key={o.id}>
                <td>{o.name}</td>
                <td>
                  {o.product.industry.name} · {o.product.name}
                </td>
                <td>
                  <Money value={o.price} />
                </td>
                <td>{o.exclusive ? <Badge kind="good">Exclusive</Badge> : <Badge>Shared, up to {o.product.maxBuyers} buyers</Badge>}</td>
                <td>{o.defaultDailyCap ?? "None"}</td>
                <td>
                  {isOwner && (
                    <button
                      type="button"
                      class="primary"
                      disabled={activate.busy}
                      onClick={async () => {
                        setActivating(o.id);
                        let id: string | null = null;
                        const ok = await activate.submit(async () => {
                          const r = (await request(ActivateDoc, { input: { offerId: o.id } })).activateOffer;
                          id = r.campaign?.id ?? null;
                          return r;
                        });
                        setActivating(null);
                        if (ok && id) navigate(idPath("campaigns", id, "filter") + "?new=1");
                      }}
                    >
                      {activating === o.id ? "Activating…" : "Activate"}
                      <span class="visually-hidden"> {o.name}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <LoadMore page={offers} noun="offers" />
    </>
  );
}
