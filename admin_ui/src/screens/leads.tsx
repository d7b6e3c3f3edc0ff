import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { request } from "../api";
import { humanize, outcomeLabel } from "../format";
import { graphql } from "../gql";
import type { LeadQuery, LeadsQuery } from "../gql/graphql";
import { useForm, usePaged, useQuery } from "../hooks";
import { idPath, Link, navigate, usePath } from "../router";
import { useSession } from "../session";
import { Badge, ErrorBox, Loading, Money, Notice, PagedTable, PageTitle, Section, TableWrap, Time } from "../ui/common";
import { ErrorSummary } from "../ui/forms";
import { LeadWork } from "./pipeline";
import { LeadReturn } from "./returns";
import { DeliveryCard } from "./deliveries";

const LeadsDoc = graphql(`
  query Leads($first: Int, $after: String, $search: String) {
    leads(first: $first, after: $after, search: $search) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          id
          origin
          firstName
          lastName
          email
          phone
          postalCode
          city
          state
          createdAt
          marketStatus
          product {
            name
          }
          assignee {
            id
            name
          }
          sale {
            price {
              amountMinor
              currency
            }
          }
        }
      }
    }
  }
`);

const LeadDoc = graphql(`
  query Lead($id: ID!) {
    node(id: $id) {
      ... on Lead {
        id
        origin
        firstName
        lastName
        email
        phone
        postalCode
        city
        state
        createdAt
        data
        marketStatus
        product {
          name
          industry {
            name
          }
        }
        assignee {
          id
          name
          email
        }
        sale {
          exclusive
          soldAt
          price {
            amountMinor
            currency
          }
          campaign {
            id
            name
            filterEnabled
            geoMode
            states
            radiusZip
            radiusMiles
            zipCodes
            timeZone
          }
        }
        deliveries {
          ...DeliveryFields
        }
        routingTrace {
          partnerName
          outcome
          detail
          decidedAt
          price {
            amountMinor
            currency
          }
          campaign {
            id
            name
          }
        }
      }
    }
  }
`);

const RerouteDoc = graphql(`
  mutation RerouteLead($input: RerouteLeadInput!) {
    rerouteLead(input: $input) {
      lead {
        id
        marketStatus
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

export function Leads() {
  const { isOperator } = useSession();
  const { search } = usePath();
  const initial = search.get("q") ?? "";
  const [text, setText] = useState(initial);
  const page = usePaged(LeadsDoc, { search: initial || null }, (d) => d.leads);
  return (
    <>
      <PageTitle>Leads</PageTitle>
      <p>{isOperator ? "Every lead posted to the marketplace, newest first." : "Your leads and your team's, newest first."}</p>
      <form
        class="inline-form"
        role="search"
        aria-label="Search leads"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(text.trim() ? `/leads?q=${encodeURIComponent(text.trim())}` : "/leads", { replace: true });
        }}
      >
        <div class="field">
          <label for="lead-search">Search</label>
          <input id="lead-search" type="search" value={text} placeholder="Name, e-mail, phone or ZIP" onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <button type="submit">Search</button>
      </form>
      <PagedTable
        page={page}
        noun="leads"
        label="Leads"
        rowKey={(l) => l.id}
        columns={[
          {
            header: "Name",
            cell: (l) => (
              <>
                <Link to={idPath("leads", l.id)}>
                  {l.firstName} {l.lastName}
                </Link>
                <div class="muted small">{l.email}</div>
              </>
            ),
          },
          { header: "Phone", cell: (l) => <a href={`tel:${l.phone}`}>{l.phone}</a> },
          { header: "Location", cell: (l) => `${l.city} ${l.state} ${l.postalCode}` },
          { header: "Product", cell: (l) => l.product?.name ?? humanize(l.origin) },
          ...(isOperator
            ? [
                { header: "Status", cell: (l: Row) => (l.marketStatus ? <StatusBadge status={l.marketStatus} /> : "—") },
                { header: "Received", cell: (l: Row) => <Time value={l.createdAt} /> },
              ]
            : [
                { header: "Assigned to", cell: (l: Row) => l.assignee?.name ?? <span class="muted">Unassigned</span> },
                { header: "Price", cell: (l: Row) => (l.sale ? <Money value={l.sale.price} /> : "—") },
                { header: "Received", cell: (l: Row) => <Time value={l.createdAt} /> },
              ]),
        ]}
      />
    </>
  );
}

function StatusBadge({ status }: { status: string }) {
  const kind = status === "SOLD" ? "good" : status === "UNSOLD" ? "warn" : status === "DUPLICATE" ? "bad" : "neutral";
  return <Badge kind={kind}>{humanize(status)}</Badge>;
}

type Row = LeadsQuery["leads"]["edges"][number]["node"];

type Lead = Extract<NonNullable<LeadQuery["node"]>, { firstName: string }>;

export function LeadPage({ id }: { id: string }) {
  const { isOperator } = useSession();
  const q = useQuery(LeadDoc, { id });
  const reroute = useForm();
  const [rerouted, setRerouted] = useState<string | null>(null);
  const lead = q.data?.node && "firstName" in q.data.node ? (q.data.node as Lead) : null;
  if (q.error) return <ErrorBox message={q.error} retry={q.reload} />;
  if (q.loading && !lead) return <Loading />;
  if (!lead) {
    return (
      <>
        <PageTitle>Lead not found</PageTitle>
        <p>
          It does not exist or you may not see it. <Link to="/leads">All leads</Link>
        </p>
      </>
    );
  }
  const data = (lead.data ?? {}) as Record<string, unknown>;
  return (
    <>
      <p class="breadcrumb">
        <Link to="/leads">Leads</Link>
      </p>
      <PageTitle
        actions={
          isOperator &&
          lead.marketStatus !== "SOLD" &&
          lead.marketStatus !== "DUPLICATE" && (
            <button
              type="button"
              class="primary"
              disabled={reroute.busy}
              onClick={async () => {
                setRerouted(null);
                let status: string | null = null;
                const ok = await reroute.submit(async () => {
                  const r = (await request(RerouteDoc, { input: { leadId: lead.id } })).rerouteLead;
                  status = r.lead?.marketStatus ?? null;
                  return r;
                });
                if (ok) {
                  setRerouted(status === "SOLD" ? "Re-routed: the lead is sold." : "Re-routed: still no campaign took it. See the trace below.");
                  await q.reload();
                }
              }}
            >
              {reroute.busy ? "Re-routing…" : "Re-route now"}
            </button>
          )
        }
      >
        {lead.firstName} {lead.lastName}
      </PageTitle>
      <ErrorSummary errors={reroute.errors} />
      {rerouted && <Notice kind="success">{rerouted}</Notice>}
      <div class="two-col">
        <Section title="Contact" id="contact-h">
          <dl class="facts">
            <dt>Phone</dt>
            <dd>
              <a href={`tel:${lead.phone}`}>{lead.phone}</a>
            </dd>
            <dt>E-mail</dt>
            <dd>{lead.email ? <a href={`mailto:${lead.email}`}>{lead.email}</a> : "—"}</dd>
            <dt>Location</dt>
            <dd>
              {lead.city} {lead.state} {lead.postalCode}
            </dd>
            <dt>Received</dt>
            <dd>
              <Time value={lead.createdAt} />
            </dd>
            <dt>Source</dt>
            <dd>{humanize(lead.origin)}</dd>
            {lead.product && (
              <>
                <dt>Product</dt>
                <dd>
                  {lead.product.industry.name} · {lead.product.name}
                </dd>
              </>
            )}
            {lead.marketStatus && (
              <>
                <dt>Marketplace status</dt>
                <dd>
                  <StatusBadge status={lead.marketStatus} />
                </dd>
              </>
            )}
            {!isOperator && (
              <>
                <dt>Assigned to</dt>
                <dd>{lead.assignee ? <Link to={idPath("users", lead.assignee.id)}>{lead.assignee.name}</Link> : "Nobody yet"}</dd>
              </>
            )}
          </dl>
        </Section>
        <Section title="Details" id="details-h">
          {Object.keys(data).length === 0 ? (
            <p class="muted">No industry details.</p>
          ) : (
            <dl class="facts">
              {Object.entries(data).map(([k, v]) => (
                <Fragment key={k}>
                  <dt>{humanize(k)}</dt>
                  <dd>{formatValue(v)}</dd>
                </Fragment>
              ))}
            </dl>
          )}
        </Section>
      </div>
      {lead.sale && (
        <Section title="The sale" id="sale-h">
          <p>
            Bought through your campaign <Link to={idPath("campaigns", lead.sale.campaign.id)}>{lead.sale.campaign.name}</Link> on{" "}
            <Time value={lead.sale.soldAt} /> for <Money value={lead.sale.price} /> ({lead.sale.exclusive ? "exclusive" : "shared"}).
          </p>
          <p class="muted">
            Why you got it: a lead is sold only to campaigns whose filter and schedule it matches at the moment of delivery.
            The campaign's filter now: {geoText(lead.sale.campaign)}. The dashboard is the official record of this lead. <Link to={idPath("campaigns", lead.sale.campaign.id, "missed")}>See every routing decision of the campaign</Link>.
          </p>
        </Section>
      )}
      {!isOperator && <LeadWork leadId={lead.id} />}
      {lead.sale && !isOperator && <LeadReturn leadId={lead.id} />}
      {lead.routingTrace && (
        <Section title="Routing trace" id="trace-h">
          {lead.routingTrace.length === 0 ? (
            <p class="muted">No campaign was a candidate for this lead.</p>
          ) : (
            <TableWrap label="Routing trace">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Partner</th>
                    <th scope="col">Campaign</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">Detail</th>
                    <th scope="col">Price</th>
                    <th scope="col">When</th>
                  </tr>
                </thead>
                <tbody>
                  {lead.routingTrace.map((t, i) => (
                    <tr key={i}>
                      <td>{t.partnerName}</td>
                      <td>
                        <Link to={idPath("campaigns", t.campaign.id)}>{t.campaign.name}</Link>
                      </td>
                      <td>{t.outcome === "SOLD" ? <Badge kind="good">Sold</Badge> : outcomeLabel(t.outcome)}</td>
                      <td>{t.detail}</td>
                      <td>
                        <Money value={t.price} />
                      </td>
                      <td>
                        <Time value={t.decidedAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </Section>
      )}
      {(lead.sale || lead.deliveries.length > 0) && (
        <Section title="Delivery log" id="deliveries-h">
          {lead.deliveries.length === 0 ? (
            <p class="muted">No channel is set up for this campaign, so the lead was not sent anywhere: the dashboard is where it lives.</p>
          ) : (
            lead.deliveries.map((d) => <DeliveryCard key={d.id} delivery={d} onResent={() => void q.reload()} />)
          )}
        </Section>
      )}
    </>
  );
}

function geoText(c: { filterEnabled: boolean; geoMode: string; states: string[]; radiusZip: string; radiusMiles: number; zipCodes: string[] }): string {
  if (!c.filterEnabled || c.geoMode === "ANYWHERE") return "anywhere";
  if (c.geoMode === "STATES") return `states ${c.states.join(", ")}`;
  if (c.geoMode === "ZIP_LIST") return `${c.zipCodes.length} ZIP codes`;
  return `${c.radiusMiles} miles around ${c.radiusZip}`;
}

function formatValue(v: unknown): string {
  if (v === true) return "Yes";
  if (v === false) return "No";
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "string") return v.includes("_") && !v.includes(" ") ? humanize(v) : v;
  if (Array.isArray(v)) return v.map(formatValue).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
