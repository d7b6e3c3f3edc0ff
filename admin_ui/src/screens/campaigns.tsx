import { useEffect, useMemo, useState } from "preact/hooks";
import { request, type UserError } from "../api";
import { humanize, outcomeLabel, timeZones } from "../format";
import { graphql } from "../gql";
import type { CampaignFieldsFragment, CampaignQuery, GeoMode } from "../gql/graphql";
import { useForm, usePaged, useQuery } from "../hooks";
import { idPath, Link, usePath } from "../router";
import { useSession } from "../session";
import { ErrorBox, LoadMore, Loading, Money, Notice, PageTitle, TableWrap, Time } from "../ui/common";
import { CheckField, ErrorSummary, errorsFor, fieldId, OtherErrors, SelectField, Submit, TextAreaField, TextField } from "../ui/forms";
import { CampaignState } from "./overview";
import { ScheduleEditor, type Window } from "./schedule";

export const CampaignFields = graphql(`
  fragment CampaignFields on Campaign {
    id
    name
    timeZone
    status
    paused
    filterEnabled
    geoMode
    states
    zipCodes
    radiusZip
    radiusMiles
    fieldFilters
    schedule {
      day
      start
      end
    }
    dailyCap
    weeklyCap
    monthlyCap
    channels
    revision
    lastSoldAt
    createdAt
    offer {
      id
      name
      exclusive
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
          schemaKey
        }
      }
    }
  }
`);

const CampaignsDoc = graphql(`
  query Campaigns($first: Int, $after: String) {
    campaigns(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          ...CampaignFields
        }
      }
    }
  }
`);

const CampaignDoc = graphql(`
  query Campaign($id: ID!) {
    node(id: $id) {
      ... on Campaign {
        ...CampaignFields
      }
    }
    deliveryChannels {
      name
      label
      description
      plugin
      settings {
        name
        type
        required
        secret
        description
        default
      }
    }
  }
`);

const CoveredDoc = graphql(`
  query CoveredZips($id: ID!) {
    node(id: $id) {
      ... on Campaign {
        id
        revision
        coveredZipCodes
      }
    }
  }
`);

const UpdateCampaignDoc = graphql(`
  mutation UpdateCampaign($input: UpdateCampaignInput!) {
    updateCampaign(input: $input) {
      campaign {
        ...CampaignFields
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const PauseDoc = graphql(`
  mutation PauseCampaign($input: CampaignInput!) {
    pauseCampaign(input: $input) {
      campaign {
        ...CampaignFields
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const ResumeDoc = graphql(`
  mutation ResumeCampaign($input: CampaignInput!) {
    resumeCampaign(input: $input) {
      campaign {
        ...CampaignFields
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const MissedDoc = graphql(`
  query CampaignMissed($id: ID!, $since: DateTime!, $first: Int, $after: String) {
    node(id: $id) {
      ... on Campaign {
        id
        missedLeads(since: $since) {
          reason
          count
        }
        routingDecisions(first: $first, after: $after) {
          totalCount
          pageInfo {
            hasNextPage
            endCursor
          }
          edges {
            cursor
            node {
              decidedAt
              outcome
              detail
              leadPostalCode
              leadCity
              leadState
            }
          }
        }
      }
    }
  }
`);

type Campaign = CampaignFieldsFragment;
type Channel = CampaignQuery["deliveryChannels"][number];

export function Campaigns() {
  const { isOperator } = useSession();
  const page = usePaged(CampaignsDoc, {}, (d) => d.campaigns);
  return (
    <>
      <PageTitle actions={!isOperator && <Link to="/deals" class="button">Activate a Lead Deal</Link>}>Campaigns</PageTitle>
      {isOperator && <p>Every partner's campaigns, newest first (read only).</p>}
      <TableWrap label="Campaigns">
        <table>
          <thead>
            <tr>
              <th scope="col">Campaign</th>
              <th scope="col">Product</th>
              <th scope="col">State</th>
              <th scope="col">Price</th>
              <th scope="col">Daily cap</th>
              <th scope="col">Geo filter</th>
              <th scope="col">Last lead</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((c) => (
              <tr key={c.id}>
                <td>
                  <Link to={idPath("campaigns", c.id)}>{c.name}</Link>
                </td>
                <td>
                  {c.offer.product.industry.name} · {c.offer.product.name}
                </td>
                <td>
                  <CampaignState status={c.status} paused={c.paused} />
                </td>
                <td>
                  <Money value={c.offer.price} />
                </td>
                <td>{c.dailyCap ?? "None"}</td>
                <td>{geoSummary(c)}</td>
                <td>
                  <Time value={c.lastSoldAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <LoadMore page={page} noun="campaigns" />
    </>
  );
}

function geoSummary(c: Campaign): string {
  if (!c.filterEnabled || c.geoMode === "ANYWHERE") return "Anywhere";
  if (c.geoMode === "STATES") return `States: ${c.states.join(", ")}`;
  if (c.geoMode === "ZIP_LIST") return `${c.zipCodes.length} ZIP codes`;
  return `${c.radiusMiles} mi around ${c.radiusZip}`;
}

const TABS = [
  { key: "global", label: "Global" },
  { key: "filter", label: "Filter" },
  { key: "schedule", label: "Schedule" },
  { key: "integration", label: "Integration" },
  { key: "missed", label: "Missed leads" },
];

export function CampaignPage({ id, tab }: { id: string; tab: string }) {
  const { isOwner, isOperator } = useSession();
  const { search } = usePath();
  const q = useQuery(CampaignDoc, { id });
  const [campaign, setCampaign] = useState<Campaign | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const pause = useForm();
  useEffect(() => {
    const node = q.data?.node;
    setCampaign(node && "offer" in node ? (node as Campaign) : null);
  }, [q.data]);
  useEffect(() => setSaved(null), [tab]);
  const canEdit = isOwner && !isOperator;

  if (q.error) return <ErrorBox message={q.error} retry={q.reload} />;
  if (q.loading && !campaign) return <Loading />;
  if (!campaign) {
    return (
      <>
        <PageTitle>Campaign not found</PageTitle>
        <p>
          It does not exist or you may not see it. <Link to="/campaigns">All campaigns</Link>
        </p>
      </>
    );
  }
  const onSaved = (c: Campaign, message: string) => {
    setCampaign(c);
    setSaved(message);
  };
  const current = TABS.find((t) => t.key === tab) ?? TABS[0];

  return (
    <>
      <p class="breadcrumb">
        <Link to="/campaigns">Campaigns</Link>
      </p>
      <PageTitle
        actions={
          !isOperator && (
            <button
              type="button"
              class={campaign.paused ? "primary" : ""}
              disabled={pause.busy}
              onClick={async () => {
                setSaved(null);
                let next: Campaign | null = null;
                const ok = await pause.submit(async () => {
                  const input = { campaignId: campaign.id };
                  const r = campaign.paused
                    ? (await request(ResumeDoc, { input })).resumeCampaign
                    : (await request(PauseDoc, { input })).pauseCampaign;
                  next = (r.campaign as Campaign | null) ?? null;
                  return r;
                });
                if (ok && next) onSaved(next, (next as Campaign).paused ? "Campaign paused: it receives no leads until you resume it." : "Campaign resumed.");
              }}
            >
              {campaign.paused ? "Resume" : "Pause"}
            </button>
          )
        }
      >
        {campaign.name}
      </PageTitle>
      <p class="campaign-meta">
        <CampaignState status={campaign.status} paused={campaign.paused} /> {campaign.offer.product.industry.name} ·{" "}
        {campaign.offer.product.name} · {campaign.offer.name} · <Money value={campaign.offer.price} /> per lead ·{" "}
        {campaign.offer.exclusive ? "exclusive" : `shared (up to ${campaign.offer.product.maxBuyers} buyers)`} · last lead{" "}
        <Time value={campaign.lastSoldAt} />
      </p>
      <ErrorSummary errors={pause.errors} />
      {search.get("new") && tab === "filter" && !saved && (
        <Notice kind="success">
          <p>
            Campaign created with a default schedule and lead cap. Set your service area here, then check the Schedule and
            Integration tabs.
          </p>
        </Notice>
      )}
      {isOperator && <Notice>Campaigns are changed by the partner; this is a read-only view.</Notice>}
      {!isOperator && !isOwner && <Notice>Only the account owner can change campaign settings; you can pause and resume.</Notice>}
      <nav class="tabs" aria-label="Campaign settings">
        <ul>
          {TABS.map((t) => (
            <li key={t.key}>
              <Link to={idPath("campaigns", campaign.id, t.key)} aria-current={t.key === current.key ? "page" : undefined}>
                {t.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      {saved && <Notice kind="success">{saved}</Notice>}
      <div class="tab-panel">
        <h2 class="visually-hidden">{current.label}</h2>
        {current.key === "global" && <GlobalTab campaign={campaign} canEdit={canEdit} onSaved={onSaved} />}
        {current.key === "filter" && <FilterTab campaign={campaign} canEdit={canEdit} onSaved={onSaved} />}
        {current.key === "schedule" && <ScheduleTab campaign={campaign} canEdit={canEdit} onSaved={onSaved} />}
        {current.key === "integration" && (
          <IntegrationTab campaign={campaign} channels={q.data?.deliveryChannels ?? []} canEdit={canEdit} onSaved={onSaved} />
        )}
        {current.key === "missed" && <MissedTab campaign={campaign} />}
      </div>
    </>
  );
}

type TabProps = { campaign: Campaign; canEdit: boolean; onSaved: (c: Campaign, message: string) => void };

function useUpdate(campaign: Campaign, onSaved: TabProps["onSaved"], message: string) {
  const form = useForm();
  const save = async (changes: Record<string, unknown>) => {
    let next: Campaign | null = null;
    const ok = await form.submit(async () => {
      const r = (await request(UpdateCampaignDoc, { input: { campaignId: campaign.id, ...changes } })).updateCampaign;
      next = (r.campaign as Campaign | null) ?? null;
      return r;
    });
    if (ok && next) onSaved(next, message);
    return ok;
  };
  return { form, save };
}

function GlobalTab({ campaign, canEdit, onSaved }: TabProps) {
  const [name, setName] = useState(campaign.name);
  const [timeZone, setTimeZone] = useState(campaign.timeZone);
  const [status, setStatus] = useState<string>(campaign.status);
  const { form, save } = useUpdate(campaign, onSaved, "Global settings saved.");
  const zones = timeZones();
  return (
    <form
      noValidate
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void save({ name, timeZone, status });
      }}
    >
      <ErrorSummary errors={form.errors} />
      <fieldset disabled={!canEdit}>
        <legend class="visually-hidden">Global</legend>
        <TextField name="name" label="Campaign name" value={name} onValue={setName} errors={form.errors} />
        <SelectField
          name="timeZone"
          label="Time zone"
          hint="The schedule's hours are in this time zone."
          value={timeZone}
          onValue={setTimeZone}
          errors={form.errors}
          options={(zones.includes(timeZone) ? zones : [timeZone, ...zones]).map((z) => ({ value: z, label: z }))}
        />
        <fieldset class="radio-group" aria-describedby={errorsFor(form.errors, "status").length ? `${fieldId("status")}-error` : undefined}>
          <legend>Status</legend>
          {errorsFor(form.errors, "status").length > 0 && (
            <div class="field-error" id={`${fieldId("status")}-error`}>
              {errorsFor(form.errors, "status").map((e) => (
                <p>{e.message}</p>
              ))}
            </div>
          )}
          {[
            ["ACTIVE", "Active: receives leads within its filter and schedule"],
            ["DISABLED", "Disabled: receives no leads"],
          ].map(([value, label]) => (
            <label class="radio" key={value}>
              <input type="radio" name="status" id={value === "ACTIVE" ? fieldId("status") : undefined} value={value} checked={status === value} onChange={() => setStatus(value)} />{" "}
              {label}
            </label>
          ))}
        </fieldset>
        {canEdit && <Submit busy={form.busy}>Save</Submit>}
      </fieldset>
    </form>
  );
}

const US_STATES = (
  "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
).split(" ");

const GEO_MODES: { value: GeoMode; label: string }[] = [
  { value: "ANYWHERE", label: "Anywhere" },
  { value: "STATES", label: "States" },
  { value: "ZIP_LIST", label: "A list of ZIP codes" },
  { value: "ZIP_RADIUS", label: "ZIP + radius" },
];

function FilterTab({ campaign, canEdit, onSaved }: TabProps) {
  const [filterEnabled, setFilterEnabled] = useState(campaign.filterEnabled);
  const [geoMode, setGeoMode] = useState<GeoMode>(campaign.geoMode);
  const [states, setStates] = useState<string[]>(campaign.states);
  const [zipText, setZipText] = useState(campaign.zipCodes.join("\n"));
  const [radiusZip, setRadiusZip] = useState(campaign.radiusZip);
  const [radiusMiles, setRadiusMiles] = useState(campaign.radiusMiles ? String(campaign.radiusMiles) : "");
  const hasFilters = campaign.fieldFilters && Object.keys(campaign.fieldFilters as object).length > 0;
  const [filtersText, setFiltersText] = useState(hasFilters ? JSON.stringify(campaign.fieldFilters, null, 2) : "");
  const { form, save } = useUpdate(campaign, onSaved, "Filter saved.");
  const covered = useQuery(CoveredDoc, { id: campaign.id });
  useEffect(() => {
    void covered.reload();
  }, [campaign.revision]);

  const submit = async () => {
    const changes: Record<string, unknown> = { filterEnabled, geoMode };
    if (geoMode === "STATES") changes.states = states;
    if (geoMode === "ZIP_LIST") changes.zipCodes = zipText.split(/[\s,;]+/).filter(Boolean);
    if (geoMode === "ZIP_RADIUS") {
      changes.radiusZip = radiusZip.trim();
      const miles = Number(radiusMiles);
      if (!Number.isInteger(miles)) {
        await form.submit(async () => ({ userErrors: [{ field: "radiusMiles", code: "INVALID", message: "The radius is a whole number of miles." }] }));
        return;
      }
      changes.radiusMiles = miles;
    }
    let filters: unknown = {};
    if (filtersText.trim()) {
      try {
        filters = JSON.parse(filtersText);
      } catch {
        await form.submit(async () => ({
          userErrors: [{ field: "fieldFilters", code: "INVALID", message: 'Industry filters must be a JSON object, e.g. {"move_size": "3_bedrooms"}.' }],
        }));
        return;
      }
    }
    changes.fieldFilters = filters;
    await save(changes);
  };

  // Only the list computed for the campaign as it is now (the revision changes on every save).
  const coveredNode = covered.data?.node && "coveredZipCodes" in covered.data.node ? covered.data.node : null;
  const coveredZips = coveredNode && coveredNode.revision === campaign.revision ? coveredNode.coveredZipCodes : null;
  return (
    <form
      noValidate
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <ErrorSummary errors={form.errors} />
      <fieldset disabled={!canEdit}>
        <legend class="visually-hidden">Filter</legend>
        <CheckField
          name="filterEnabled"
          label="Filter on"
          hint="With the filter off, the campaign takes leads from anywhere."
          checked={filterEnabled}
          onChecked={setFilterEnabled}
          errors={form.errors}
        />
        <fieldset class="radio-group">
          <legend>Service area (GEO)</legend>
          <OtherErrors errors={errorsFor(form.errors, "geoMode")} shown={[]} />
          {GEO_MODES.map((m) => (
            <label class="radio" key={m.value}>
              <input type="radio" name="geoMode" value={m.value} checked={geoMode === m.value} onChange={() => setGeoMode(m.value)} /> {m.label}
            </label>
          ))}
        </fieldset>
        {geoMode === "STATES" && (
          <fieldset class="states" aria-describedby={errorsFor(form.errors, "states").length ? `${fieldId("states")}-error` : undefined}>
            <legend>States</legend>
            {errorsFor(form.errors, "states").length > 0 && (
              <div class="field-error" id={`${fieldId("states")}-error`}>
                {errorsFor(form.errors, "states").map((e) => (
                  <p>{e.message}</p>
                ))}
              </div>
            )}
            <div class="state-grid">
              {US_STATES.map((s, i) => (
                <label key={s} class="check-chip">
                  <input
                    type="checkbox"
                    id={i === 0 ? fieldId("states") : undefined}
                    checked={states.includes(s)}
                    onChange={(e) => {
                      const on = (e.currentTarget as HTMLInputElement).checked;
                      setStates(on ? [...states, s].sort() : states.filter((x) => x !== s));
                    }}
                  />{" "}
                  {s}
                </label>
              ))}
            </div>
          </fieldset>
        )}
        {geoMode === "ZIP_LIST" && (
          <TextAreaField
            name="zipCodes"
            label="ZIP codes"
            hint="The ZIP codes you serve, separated by spaces, commas or new lines (at most 5,000; for more, use a radius)."
            rows={6}
            value={zipText}
            onValue={setZipText}
            errors={form.errors}
          />
        )}
        {geoMode === "ZIP_RADIUS" && (
          <div class="row">
            <TextField name="radiusZip" label="Centre ZIP" inputMode="numeric" maxLength={5} class="narrow" value={radiusZip} onValue={setRadiusZip} errors={form.errors} />
            <TextField name="radiusMiles" label="Radius (miles)" type="number" min={1} max={500} class="narrow" value={radiusMiles} onValue={setRadiusMiles} errors={form.errors} />
          </div>
        )}
        <TextAreaField
          name="fieldFilters"
          label={`Industry filters (${campaign.offer.product.industry.name})`}
          hint={
            <>
              Filters on the industry's own lead fields, as a JSON object of field: setting, e.g.{" "}
              <code>{'{"move_size": "3_bedrooms", "move_type": ["long_distance"]}'}</code>. Leave empty for none; the server
              names any field or value it does not accept.
            </>
          }
          class="mono"
          rows={5}
          value={filtersText}
          onValue={setFiltersText}
          errors={form.errors}
        />
        <OtherErrors errors={form.errors} shown={["filterEnabled", "states", "zipCodes", "radiusZip", "radiusMiles", "fieldFilters"]} />
        {canEdit && <Submit busy={form.busy}>Save filter</Submit>}
      </fieldset>
      {(campaign.geoMode === "ZIP_LIST" || campaign.geoMode === "ZIP_RADIUS") && campaign.filterEnabled && (
        <CoveredZips zips={coveredZips} loading={covered.loading || coveredZips === null} campaign={campaign} />
      )}
    </form>
  );
}

function CoveredZips({ zips, loading, campaign }: { zips: string[] | null; loading: boolean; campaign: Campaign }) {
  if (!zips) return loading ? <Loading label="Loading the covered ZIP codes…" /> : null;
  return (
    <section class="covered" aria-labelledby="covered-h">
      <h3 id="covered-h">
        Covered ZIP codes: {zips.length.toLocaleString()}
        {campaign.geoMode === "ZIP_RADIUS" && ` within ${campaign.radiusMiles} miles of ${campaign.radiusZip}`}
      </h3>
      <div class="zip-list" role="region" aria-label="List of covered ZIP codes" tabIndex={0}>
        {zips.join(" ")}
      </div>
    </section>
  );
}

function capValue(v: string): number | null {
  return v.trim() === "" ? null : Number(v);
}

function ScheduleTab({ campaign, canEdit, onSaved }: TabProps) {
  const [windows, setWindows] = useState<Window[]>(campaign.schedule.map((w) => ({ ...w })));
  const [caps, setCaps] = useState({
    dailyCap: campaign.dailyCap?.toString() ?? "",
    weeklyCap: campaign.weeklyCap?.toString() ?? "",
    monthlyCap: campaign.monthlyCap?.toString() ?? "",
  });
  const { form, save } = useUpdate(campaign, onSaved, "Schedule and caps saved.");
  const submit = async () => {
    const changes: Record<string, unknown> = { schedule: windows };
    const remove: string[] = [];
    const bad: UserError[] = [];
    for (const k of ["dailyCap", "weeklyCap", "monthlyCap"] as const) {
      const v = capValue(caps[k]);
      if (v === null) remove.push(k);
      else if (!Number.isInteger(v)) bad.push({ field: k, code: "INVALID", message: "A cap is a whole number of leads (or empty for none)." });
      else changes[k] = v;
    }
    if (bad.length) {
      await form.submit(async () => ({ userErrors: bad }));
      return;
    }
    if (remove.length) changes.removeCaps = remove;
    await save(changes);
  };
  return (
    <form
      noValidate
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <ErrorSummary errors={form.errors} />
      <fieldset disabled={!canEdit}>
        <legend class="visually-hidden">Schedule</legend>
        <h3>Weekly hours</h3>
        <p class="muted">In the campaign's time zone, {campaign.timeZone}. Leads arrive only inside these hours.</p>
        <ScheduleEditor windows={windows} onChange={setWindows} errors={errorsFor(form.errors, "schedule")} disabled={!canEdit} />
        <h3>Lead caps</h3>
        <p class="muted">The most leads this campaign receives; leave empty for no cap.</p>
        <div class="row">
          {(
            [
              ["dailyCap", "Per day"],
              ["weeklyCap", "Per week"],
              ["monthlyCap", "Per month"],
            ] as const
          ).map(([k, label]) => (
            <TextField
              key={k}
              name={k}
              label={label}
              type="number"
              min={1}
              class="narrow"
              value={caps[k]}
              onValue={(v) => setCaps({ ...caps, [k]: v })}
              errors={form.errors}
            />
          ))}
        </div>
        <OtherErrors errors={form.errors} shown={["schedule", "dailyCap", "weeklyCap", "monthlyCap"]} />
        {canEdit && <Submit busy={form.busy}>Save schedule</Submit>}
      </fieldset>
    </form>
  );
}

const MASK = "********";

type ChannelValues = Record<string, Record<string, string | boolean>>;

function initialChannelValues(campaign: Campaign, channels: Channel[]): { enabled: Record<string, boolean>; values: ChannelValues } {
  const stored = (campaign.channels ?? {}) as Record<string, Record<string, unknown>>;
  const enabled: Record<string, boolean> = {};
  const values: ChannelValues = {};
  for (const ch of channels) {
    const mine = stored[ch.name];
    enabled[ch.name] = mine !== undefined;
    values[ch.name] = {};
    for (const s of ch.settings) {
      const v = mine?.[s.name] ?? (s.secret ? undefined : s.default);
      if (s.type === "bool") values[ch.name][s.name] = v === true;
      else if (v === undefined || v === null) values[ch.name][s.name] = "";
      else if (v === MASK) values[ch.name][s.name] = MASK;
      else if (s.type === "list") values[ch.name][s.name] = (v as unknown[]).join("\n");
      else if (s.type === "dict") values[ch.name][s.name] = JSON.stringify(v, null, 2);
      else values[ch.name][s.name] = String(v);
    }
  }
  return { enabled, values };
}

function IntegrationTab({ campaign, channels, canEdit, onSaved }: TabProps & { channels: Channel[] }) {
  const init = useMemo(() => initialChannelValues(campaign, channels), [campaign.revision, channels]);
  const [enabled, setEnabled] = useState(init.enabled);
  const [values, setValues] = useState(init.values);
  const { form, save } = useUpdate(campaign, onSaved, "Integration saved. New leads are sent through the channels you chose.");

  const submit = async () => {
    const out: Record<string, Record<string, unknown>> = {};
    const bad: UserError[] = [];
    for (const ch of channels) {
      if (!enabled[ch.name]) continue;
      const settings: Record<string, unknown> = {};
      for (const s of ch.settings) {
        const raw = values[ch.name][s.name];
        const field = `channels.${ch.name}.${s.name}`;
        if (s.type === "bool") {
          settings[s.name] = raw === true;
          continue;
        }
        const text = String(raw ?? "");
        if (text.trim() === "") continue;
        if (s.secret && text === MASK) {
          settings[s.name] = MASK;
        } else if (s.type === "int") {
          settings[s.name] = /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
        } else if (s.type === "float") {
          settings[s.name] = text.trim() !== "" && !Number.isNaN(Number(text)) ? Number(text) : text;
        } else if (s.type === "list") {
          settings[s.name] = text.split(/[\n,]+/).map((x) => x.trim()).filter(Boolean);
        } else if (s.type === "dict") {
          try {
            settings[s.name] = JSON.parse(text);
          } catch {
            bad.push({ field, code: "INVALID", message: `${settingLabel(s)}: enter a JSON object, e.g. {"name": "value"}.` });
          }
        } else {
          settings[s.name] = text;
        }
      }
      out[ch.name] = settings;
    }
    if (bad.length) {
      await form.submit(async () => ({ userErrors: bad }));
      return;
    }
    await save({ channels: out });
  };

  if (!channels.length) return <Notice>No delivery channels are installed on this server.</Notice>;
  return (
    <form
      noValidate
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <p>
        The dashboard is the official record of your leads. As a courtesy, each new lead is also sent through the channels
        you turn on here.
      </p>
      <ErrorSummary errors={form.errors} />
      <fieldset disabled={!canEdit}>
        <legend class="visually-hidden">Integration</legend>
        {channels.map((ch) => (
          <fieldset class="channel" key={ch.name}>
            <legend>{ch.label}</legend>
            <CheckField
              name={`channels.${ch.name}`}
              label={`Send new leads by ${ch.label}`}
              hint={ch.description}
              checked={enabled[ch.name] ?? false}
              onChecked={(on) => setEnabled({ ...enabled, [ch.name]: on })}
              errors={form.errors}
            />
            {enabled[ch.name] &&
              ch.settings.map((s) => {
                const name = `channels.${ch.name}.${s.name}`;
                const value = values[ch.name][s.name];
                const set = (v: string | boolean) => setValues({ ...values, [ch.name]: { ...values[ch.name], [s.name]: v } });
                const label = `${settingLabel(s)}${s.required ? "" : " (optional)"}`;
                const hint = [settingHint(s), s.secret && value === MASK ? "Set. It is never shown: leave ******** to keep it, or type a new value." : ""]
                  .filter(Boolean)
                  .join(" ");
                if (s.type === "bool")
                  return <CheckField key={s.name} name={name} label={settingLabel(s)} hint={settingHint(s) || undefined} checked={value === true} onChecked={set} errors={form.errors} />;
                if (s.type === "list" || (s.type === "dict" && !(s.secret && value === MASK)))
                  return (
                    <TextAreaField
                      key={s.name}
                      name={name}
                      label={label}
                      hint={s.type === "list" ? `${hint} One per line.` : `${hint} A JSON object.`}
                      rows={3}
                      class={s.type === "dict" ? "mono" : ""}
                      value={String(value)}
                      onValue={set}
                      errors={form.errors}
                    />
                  );
                return (
                  <TextField
                    key={s.name}
                    name={name}
                    label={label}
                    hint={hint || undefined}
                    type={s.secret ? "password" : s.type === "int" || s.type === "float" ? "number" : "text"}
                    autoComplete={s.secret ? "new-password" : "off"}
                    step={s.type === "float" ? "any" : undefined}
                    value={String(value)}
                    onValue={set}
                    errors={form.errors}
                  />
                );
              })}
            <OtherErrors
              errors={form.errors.filter((e) => e.field?.startsWith(`channels.${ch.name}.`))}
              shown={ch.settings.map((s) => `channels.${ch.name}.${s.name}`)}
            />
          </fieldset>
        ))}
        <OtherErrors errors={form.errors.filter((e) => e.field === null || e.field === "channels")} shown={[]} />
        {canEdit && <Submit busy={form.busy}>Save integration</Submit>}
      </fieldset>
    </form>
  );
}

function settingLabel(s: { name: string; description: string }): string {
  const first = s.description.split(".")[0].trim();
  return first || humanize(s.name);
}

function settingHint(s: { description: string }): string {
  const i = s.description.indexOf(".");
  return i >= 0 ? s.description.slice(i + 1).trim() : "";
}

const RANGES = [
  { value: "1", label: "Last 24 hours" },
  { value: "7", label: "Last 7 days" },
  { value: "30", label: "Last 30 days" },
];

function MissedTab({ campaign }: { campaign: Campaign }) {
  const [days, setDays] = useState("7");
  const since = useMemo(() => new Date(Date.now() - Number(days) * 86400_000).toISOString(), [days]);
  const counts = useQuery(MissedDoc, { id: campaign.id, since, first: 1 });
  const decisions = usePaged(MissedDoc, { id: campaign.id, since }, (d) =>
    d.node && "routingDecisions" in d.node ? d.node.routingDecisions : null,
  );
  const missed = counts.data?.node && "missedLeads" in counts.data.node ? counts.data.node.missedLeads : [];
  const total = missed.reduce((n, m) => n + m.count, 0);
  return (
    <div class="card">
      <p>
        Why did I (not) get a lead? Every lead this campaign was a candidate for is listed below with what routing decided and
        why.
      </p>
      <SelectField name="range" label="Missed leads over" value={days} onValue={setDays} options={RANGES} class="narrow" />
      {counts.error && <ErrorBox message={counts.error} retry={counts.reload} />}
      {counts.data && (
        <>
          <h3>
            {total} missed lead{total === 1 ? "" : "s"}
          </h3>
          {missed.length > 0 && (
            <ul class="bars">
              {missed.map((m) => (
                <li key={m.reason}>
                  <span class="bar-label">{outcomeLabel(m.reason)}</span>
                  <span class="bar" style={{ width: `${Math.max(4, (m.count / total) * 100)}%` }} aria-hidden="true" />
                  <span class="bar-count">{m.count}</span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <h3>Routing decisions</h3>
      <TableWrap label="Routing decisions">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Lead location</th>
              <th scope="col">Outcome</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {decisions.items.map((d, i) => (
              <tr key={i}>
                <td>
                  <Time value={d.decidedAt} />
                </td>
                <td>
                  {d.leadCity} {d.leadState} {d.leadPostalCode}
                </td>
                <td>{outcomeLabel(d.outcome)}</td>
                <td>{d.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <LoadMore page={decisions} noun="decisions" />
    </div>
  );
}
