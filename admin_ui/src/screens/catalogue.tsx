import { useState } from "preact/hooks";
import { request, type UserError } from "../api";
import { parseMoney } from "../format";
import { graphql } from "../gql";
import { useForm, usePaged, useQuery } from "../hooks";
import { Badge, ErrorBox, LoadMore, Loading, Money, Notice, PageTitle, Section, TableWrap } from "../ui/common";
import { CheckField, ErrorSummary, SelectField, Submit, TextField } from "../ui/forms";
import { useSession } from "../session";
import { IndustriesDoc } from "./deals";

const CatalogueOffersDoc = graphql(`
  query CatalogueOffers($productId: ID, $first: Int, $after: String) {
    offers(productId: $productId, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          exclusive
          active
          defaultDailyCap
          price {
            amountMinor
            currency
          }
          product {
            name
            industry {
              name
            }
          }
        }
      }
    }
  }
`);

const CreateIndustryDoc = graphql(`
  mutation CreateIndustry($input: CreateIndustryInput!) {
    createIndustry(input: $input) {
      industry {
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

const CreateProductDoc = graphql(`
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) {
      product {
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

const CreateOfferDoc = graphql(`
  mutation CreateOffer($input: CreateOfferInput!) {
    createOffer(input: $input) {
      offer {
        id
        price {
          currency
        }
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

// Offers are priced in the marketplace's currency (the operator account's).
export function Catalogue() {
  const industries = useQuery(IndustriesDoc, {});
  const [productFilter, setProductFilter] = useState("");
  const offers = usePaged(CatalogueOffersDoc, { productId: productFilter || null }, (d) => d.offers, 50);
  const list = industries.data?.industries ?? [];
  const products = list.flatMap((i) => i.products.map((p) => ({ ...p, industry: i.name })));
  const reloadAll = async () => {
    await Promise.all([industries.reload(), offers.reload()]);
  };
  return (
    <>
      <PageTitle>Catalogue</PageTitle>
      <p>Industries, their products (categories) and the offers (“Lead Deals”) partners activate.</p>
      {industries.error && <ErrorBox message={industries.error} retry={industries.reload} />}
      {industries.loading && !industries.data && <Loading />}
      {industries.data && (
        <Section title="Industries and products" id="industries-h">
          {list.length === 0 && <p class="empty">No industries yet.</p>}
          <ul class="catalogue">
            {list.map((i) => (
              <li key={i.id}>
                <strong>{i.name}</strong> <span class="muted small">({i.schemaKey})</span> {!i.active && <Badge kind="bad">Inactive</Badge>}
                <ul>
                  {i.products.map((p) => (
                    <li key={p.id}>
                      {p.name} <span class="muted small">· shared with up to {p.maxBuyers} buyers</span> {!p.active && <Badge kind="bad">Inactive</Badge>}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </Section>
      )}
      <div class="three-col">
        <NewIndustry onCreated={reloadAll} />
        <NewProduct industries={list} onCreated={reloadAll} />
        <NewOffer products={products} onCreated={reloadAll} />
      </div>
      <Section title="Offers" id="offers-h">
        <SelectField
          name="productFilter"
          label="Product"
          value={productFilter}
          onValue={setProductFilter}
          class="narrow"
          options={[{ value: "", label: "All products" }, ...products.map((p) => ({ value: p.id, label: `${p.industry} · ${p.name}` }))]}
        />
        <TableWrap label="Offers">
          <table>
            <thead>
              <tr>
                <th scope="col">Offer</th>
                <th scope="col">Industry · product</th>
                <th scope="col">Price per lead</th>
                <th scope="col">Type</th>
                <th scope="col">Default daily cap</th>
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
                  <td>{o.exclusive ? <Badge kind="good">Exclusive</Badge> : <Badge>Shared</Badge>}</td>
                  <td>{o.defaultDailyCap ?? "None"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
        <LoadMore page={offers} noun="offers" />
      </Section>
    </>
  );
}

function NewIndustry({ onCreated }: { onCreated: () => Promise<void> }) {
  const [schemaKey, setKey] = useState("");
  const [name, setName] = useState("");
  const [done, setDone] = useState(false);
  const form = useForm();
  return (
    <Section title="Add an industry" id="new-industry-h">
      <ErrorSummary errors={form.errors} />
      {done && <Notice kind="success">Industry added.</Notice>}
      <form
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setDone(false);
          if (await form.submit(async () => (await request(CreateIndustryDoc, { input: { schemaKey: schemaKey.trim(), name: name.trim() || null } })).createIndustry)) {
            setDone(true);
            setKey("");
            setName("");
            await onCreated();
          }
        }}
      >
        <TextField name="schemaKey" label="Schema key" hint="The industry plugin's key, e.g. moving." value={schemaKey} onValue={setKey} errors={form.errors} />
        <TextField name="name" label="Name (optional)" hint="Defaults to the plugin's name." value={name} onValue={setName} errors={form.errors} />
        <Submit busy={form.busy} busyLabel="Adding…">
          Add industry
        </Submit>
      </form>
    </Section>
  );
}

function NewProduct({ industries, onCreated }: { industries: { id: string; name: string }[]; onCreated: () => Promise<void> }) {
  const [industryId, setIndustryId] = useState("");
  const [name, setName] = useState("");
  const [maxBuyers, setMaxBuyers] = useState("");
  const [done, setDone] = useState(false);
  const form = useForm();
  return (
    <Section title="Add a product" id="new-product-h">
      <ErrorSummary errors={form.errors} />
      {done && <Notice kind="success">Product added.</Notice>}
      <form
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setDone(false);
          const max = maxBuyers.trim() ? Number(maxBuyers) : null;
          if (max !== null && !Number.isInteger(max)) {
            await form.submit(async () => ({ userErrors: [{ field: "maxBuyers", code: "INVALID", message: "The most buyers is a whole number." }] }));
            return;
          }
          if (await form.submit(async () => (await request(CreateProductDoc, { input: { industryId, name, maxBuyers: max } })).createProduct)) {
            setDone(true);
            setName("");
            setMaxBuyers("");
            await onCreated();
          }
        }}
      >
        <SelectField
          name="industryId"
          label="Industry"
          value={industryId}
          onValue={setIndustryId}
          errors={form.errors}
          options={[{ value: "", label: "Choose an industry" }, ...industries.map((i) => ({ value: i.id, label: i.name }))]}
        />
        <TextField name="name" label="Product name" value={name} onValue={setName} errors={form.errors} />
        <TextField name="maxBuyers" label="Most buyers of a shared lead (optional)" hint="Defaults to the industry's rule: 4, or 8 for full-service moving." type="number" min={1} value={maxBuyers} onValue={setMaxBuyers} errors={form.errors} />
        <Submit busy={form.busy} busyLabel="Adding…">
          Add product
        </Submit>
      </form>
    </Section>
  );
}

function NewOffer({ products, onCreated }: { products: { id: string; name: string; industry: string }[]; onCreated: () => Promise<void> }) {
  const [v, setV] = useState({ productId: "", name: "", price: "", cap: "10" });
  const [exclusive, setExclusive] = useState(false);
  const [done, setDone] = useState(false);
  const form = useForm();
  const currency = useSession().viewer.account.currency;
  const set = (k: keyof typeof v) => (value: string) => setV({ ...v, [k]: value });
  return (
    <Section title="Add an offer" id="new-offer-h">
      <ErrorSummary errors={form.errors} />
      {done && <Notice kind="success">Offer added: partners can activate it now.</Notice>}
      <form
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setDone(false);
          const priceMinor = parseMoney(v.price, currency);
          const cap = v.cap.trim() ? Number(v.cap) : null;
          const bad: UserError[] = [];
          if (priceMinor === null) bad.push({ field: "priceMinor", code: "INVALID", message: "Enter the price per lead as an amount, e.g. 25.00." });
          if (cap !== null && !Number.isInteger(cap)) bad.push({ field: "defaultDailyCap", code: "INVALID", message: "The cap is a whole number of leads." });
          if (bad.length) {
            await form.submit(async () => ({ userErrors: bad }));
            return;
          }
          const ok = await form.submit(
            async () =>
              (await request(CreateOfferDoc, { input: { productId: v.productId, name: v.name, priceMinor: priceMinor!, exclusive, defaultDailyCap: cap } })).createOffer,
          );
          if (ok) {
            setDone(true);
            setV({ ...v, name: "", price: "" });
            await onCreated();
          }
        }}
      >
        <SelectField
          name="productId"
          label="Product"
          value={v.productId}
          onValue={set("productId")}
          errors={form.errors}
          options={[{ value: "", label: "Choose a product" }, ...products.map((p) => ({ value: p.id, label: `${p.industry} · ${p.name}` }))]}
        />
        <TextField name="name" label="Offer name" value={v.name} onValue={set("name")} errors={form.errors} />
        <TextField name="priceMinor" label={`Price per lead (${currency})`} inputMode="decimal" value={v.price} onValue={set("price")} errors={form.errors} />
        <CheckField name="exclusive" label="Exclusive (one buyer per lead)" checked={exclusive} onChecked={setExclusive} errors={form.errors} />
        <TextField name="defaultDailyCap" label="Default daily cap (optional)" type="number" min={1} value={v.cap} onValue={set("cap")} errors={form.errors} />
        <Submit busy={form.busy} busyLabel="Adding…">
          Add offer
        </Submit>
      </form>
    </Section>
  );
}
