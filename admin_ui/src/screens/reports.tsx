// All Reports (docs/reports.md): every lead you may see, filtered, page after
// page, and the same set as a CSV file through a one-time download link.
import { useState } from "preact/hooks";
import { request, type UserError } from "../api";
import { humanize } from "../format";
import { graphql } from "../gql";
import type { LeadHistoryFilter, LeadHistoryStatus, LeadOrigin, LeadReturnFilter } from "../gql/graphql";
import { useForm, usePaged, useQuery } from "../hooks";
import { idPath, Link } from "../router";
import { useSession } from "../session";
import { Badge, Money, Notice, PagedTable, PageTitle, Section, Time } from "../ui/common";
import { CheckField, ErrorSummary, OtherErrors, SelectField, Submit, TextField } from "../ui/forms";

const ReportOptionsDoc = graphql(`
  query ReportOptions {
    campaigns(first: 100) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

const LeadHistoryDoc = graphql(`
  query LeadHistory($filter: LeadHistoryFilter, $first: Int, $after: String) {
    leadHistory(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          firstName
          lastName
          email
          city
          state
          postalCode
          origin
          createdAt
          outcome
          stage {
            name
          }
          product {
            name
          }
          assignee {
            name
          }
          sale {
            price {
              amountMinor
              currency
            }
            campaign {
              name
            }
          }
        }
      }
    }
  }
`);

const ExportDoc = graphql(`
  mutation CreateLeadExport($input: CreateLeadExportInput!) {
    createLeadExport(input: $input) {
      export {
        url
        expiresAt
        format
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const STATUSES: LeadHistoryStatus[] = ["OPEN", "WON", "LOST"];
const ORIGINS: LeadOrigin[] = ["MARKETPLACE", "REGISTRATION", "IMPORT", "MANUAL"];
const RETURNS: LeadReturnFilter[] = ["NONE", "PENDING", "APPROVED", "DECLINED", "WITHDRAWN"];

type Draft = { from: string; to: string; campaign: string; states: string; origin: string; returned: string; search: string; statuses: LeadHistoryStatus[] };

function toFilter(d: Draft): LeadHistoryFilter {
  const states = d.states
    .split(/[,\s]+/)
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  return {
    from: d.from || null,
    to: d.to || null,
    campaignIds: d.campaign ? [d.campaign] : null,
    states: states.length ? states : null,
    statuses: d.statuses.length ? d.statuses : null,
    origins: d.origin ? [d.origin as LeadOrigin] : null,
    returnStatuses: d.returned ? [d.returned as LeadReturnFilter] : null,
    search: d.search.trim() || null,
  };
}

/** The server names filter fields `filter.from`, ...: the form's fields carry those names. */
const F = (k: string) => `filter.${k}`;

export function Reports() {
  const { isOperator } = useSession();
  const options = useQuery(ReportOptionsDoc, {});
  const empty: Draft = { from: "", to: "", campaign: "", states: "", origin: "", returned: "", search: "", statuses: [] };
  const [draft, setDraft] = useState<Draft>(empty);
  const [filter, setFilter] = useState<LeadHistoryFilter>({});
  const [errors, setErrors] = useState<UserError[]>([]);
  const page = usePaged(LeadHistoryDoc, { filter }, (d) => d.leadHistory, 25);
  const download = useForm();
  const [started, setStarted] = useState<string | null>(null);
  const set = (k: keyof Draft) => (v: string) => setDraft({ ...draft, [k]: v });
  const campaigns = options.data?.campaigns.edges.map((e) => e.node) ?? [];
  const shown = ["from", "to", "campaignIds", "states", "statuses", "origins", "returnStatuses", "search"].map(F);
  const allErrors = [...errors, ...download.errors];
  return (
    <>
      <PageTitle>All Reports</PageTitle>
      <p class="muted">Every lead you may see, with all its details. Filter, then read it here or download the same leads as a CSV file.</p>
      <Section title="Filters" id="filters-h">
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            setErrors([]);
            setStarted(null);
            if (draft.from && draft.to && draft.from > draft.to) {
              setErrors([{ field: F("to"), code: "INVALID", message: "The last day comes on or after the first." }]);
              return;
            }
            setFilter(toFilter(draft));
          }}
        >
          <ErrorSummary errors={allErrors} />
          <div class="row">
            <TextField name={F("from")} label="From (day)" type="date" value={draft.from} onValue={set("from")} errors={allErrors} />
            <TextField name={F("to")} label="To (day)" type="date" value={draft.to} onValue={set("to")} errors={allErrors} />
            <TextField name={F("search")} label="Name, e-mail, phone, city or ZIP" type="search" value={draft.search} onValue={set("search")} errors={allErrors} />
          </div>
          <div class="row">
            <SelectField
              name={F("campaignIds")}
              label="Campaign"
              value={draft.campaign}
              onValue={set("campaign")}
              errors={allErrors}
              options={[{ value: "", label: "Any campaign" }, ...campaigns.map((c) => ({ value: c.id, label: c.name }))]}
            />
            <TextField name={F("states")} label="States (e.g. MI, OH)" value={draft.states} onValue={set("states")} errors={allErrors} />
            <SelectField
              name={F("origins")}
              label="Came from"
              value={draft.origin}
              onValue={set("origin")}
              errors={allErrors}
              options={[{ value: "", label: "Anywhere" }, ...ORIGINS.map((o) => ({ value: o, label: humanize(o) }))]}
            />
            {!isOperator && (
              <SelectField
                name={F("returnStatuses")}
                label="Return"
                value={draft.returned}
                onValue={set("returned")}
                errors={allErrors}
                options={[{ value: "", label: "Any" }, ...RETURNS.map((r) => ({ value: r, label: r === "NONE" ? "Not returned" : humanize(r) }))]}
              />
            )}
          </div>
          <fieldset class="field checks-inline">
            <legend>Status</legend>
            {STATUSES.map((s) => (
              <CheckField
                key={s}
                name={`status-${s}`}
                label={humanize(s)}
                checked={draft.statuses.includes(s)}
                onChecked={(c) => setDraft({ ...draft, statuses: c ? [...draft.statuses, s] : draft.statuses.filter((x) => x !== s) })}
              />
            ))}
          </fieldset>
          <OtherErrors errors={allErrors} shown={shown} />
          <div class="button-row">
            <Submit busy={page.loading}>Apply filters</Submit>
            <button
              type="button"
              onClick={() => {
                setDraft(empty);
                setFilter({});
                setErrors([]);
              }}
            >
              Clear
            </button>
            <button
              type="button"
              class="primary"
              disabled={download.busy}
              aria-busy={download.busy ? "true" : undefined}
              onClick={async () => {
                setStarted(null);
                let url = "";
                const ok = await download.submit(async () => {
                  const r = (await request(ExportDoc, { input: { filter, format: "CSV" } })).createLeadExport;
                  url = r.export?.url ?? "";
                  return r;
                });
                if (ok && url) {
                  // A one-time link: the browser downloads it once, with the session cookie.
                  const a = document.createElement("a");
                  a.href = url;
                  a.download = "";
                  document.body.appendChild(a);
                  a.click();
                  a.remove();
                  setStarted(url);
                }
              }}
            >
              {download.busy ? "Preparing the file…" : "Download CSV"}
            </button>
          </div>
          {started && <Notice kind="success">Your CSV download has started (the leads of the filters applied, {page.totalCount ?? "all"} rows).</Notice>}
        </form>
      </Section>
      <PagedTable
        page={page}
        noun="leads"
        label="Leads in the report"
        rowKey={(l) => l.id}
        columns={[
          {
            header: "Lead",
            cell: (l) => (
              <>
                <Link to={idPath("leads", l.id)}>
                  {l.firstName} {l.lastName}
                </Link>
                <div class="muted small">{l.email}</div>
              </>
            ),
          },
          { header: "Received", cell: (l) => <Time value={l.createdAt} /> },
          { header: "Where", cell: (l) => `${l.city} ${l.state} ${l.postalCode}` },
          { header: "Product", cell: (l) => l.product?.name ?? humanize(l.origin) },
          { header: "Campaign", cell: (l) => l.sale?.campaign.name ?? "—" },
          {
            header: "Stage",
            cell: (l) => (l.outcome ? <Badge kind={l.outcome === "WON" ? "good" : "bad"}>{humanize(l.outcome)}</Badge> : (l.stage?.name ?? "—")),
          },
          { header: "Assigned to", cell: (l) => l.assignee?.name ?? "—" },
          { header: "Price", num: true, cell: (l) => (l.sale ? <Money value={l.sale.price} /> : "—") },
        ]}
      />
    </>
  );
}
