// The Global Dashboard's charts (seed 000): balance, spend, leads against the
// daily caps, returns and missed-lead reasons, from the public API (the ledger,
// returnStats, each campaign's missedLeads).
import { useEffect, useState } from "preact/hooks";
import { request } from "../api";
import { useQuery } from "../hooks";
import { formatMoney, outcomeLabel, viewerZone } from "../format";
import { graphql } from "../gql";
import type { DashboardLedgerQuery } from "../gql/graphql";
import { BarChart, HBarChart, LineChart } from "../ui/charts";
import { Loading } from "../ui/common";

const DashboardLedgerDoc = graphql(`
  query DashboardLedger($first: Int, $after: String, $days: Int) {
    viewer {
      account {
        money {
          balance {
            amountMinor
            currency
          }
          returnStats(days: $days) {
            sales
            requested
            approved
            declined
            pending
            rate
          }
          ledger(first: $first, after: $after) {
            pageInfo {
              hasNextPage
              endCursor
            }
            edges {
              node {
                kind
                createdAt
                amount {
                  amountMinor
                }
              }
            }
          }
        }
      }
    }
  }
`);

const CapUseDoc = graphql(`
  query DashboardCaps {
    partnerDashboard(windowDays: 7) {
      campaigns {
        campaign {
          id
          name
        }
        today
        dailyCap
      }
    }
  }
`);

type Money = NonNullable<NonNullable<DashboardLedgerQuery["viewer"]>["account"]["money"]>;
type Entry = Money["ledger"]["edges"][number]["node"];

const DAYS = 30;
const MAX_PAGES = 20; // at most 2,000 entries are read for the charts

function dayKey(iso: string | Date): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: viewerZone(), year: "numeric", month: "2-digit", day: "2-digit" }).format(
    typeof iso === "string" ? new Date(iso) : iso,
  );
}

type Campaign = { id: string; name: string; missedLeads: { reason: string; count: number }[] };

export function DashboardCharts({ campaigns, currency }: { campaigns: Campaign[]; currency: string }) {
  // Leads against the caps: the server's own counters (each campaign's day on its clock).
  const caps = useQuery(CapUseDoc, {});
  const capRows = (caps.data?.partnerDashboard.campaigns ?? []).map((c) => ({ label: c.campaign.name, value: c.today, of: c.dailyCap ?? null }));
  const capChart = (
    <HBarChart
      caption="Leads today against each campaign's daily cap"
      summary={capRows.length ? `${capRows.reduce((s, c) => s + c.value, 0)} leads today.` : "No campaign yet."}
      rows={capRows}
    />
  );
  const [state, setState] = useState<{ money: Money | null; entries: Entry[]; truncated: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    (async () => {
      const since = Date.now() - DAYS * 86400_000;
      const entries: Entry[] = [];
      let after: string | null = null;
      let money: Money | null = null;
      let truncated = false;
      for (let i = 0; i < MAX_PAGES; i++) {
        const data: DashboardLedgerQuery = await request(DashboardLedgerDoc, { first: 100, after, days: DAYS });
        money = data.viewer?.account.money ?? null;
        if (!money) break;
        const page = money.ledger.edges.map((e) => e.node);
        entries.push(...page.filter((e) => new Date(e.createdAt).getTime() >= since));
        const older = page.some((e) => new Date(e.createdAt).getTime() < since);
        if (older || !money.ledger.pageInfo.hasNextPage) break;
        after = money.ledger.pageInfo.endCursor ?? null;
        if (i === MAX_PAGES - 1) truncated = true;
      }
      if (!cancelled) setState({ money, entries, truncated });
    })().catch((e) => !cancelled && setError((e as Error).message));
    return () => {
      cancelled = true;
    };
  }, []);

  const money = (v: number) => formatMoney({ amountMinor: v, currency });
  const missed = new Map<string, number>();
  for (const c of campaigns) for (const m of c.missedLeads) missed.set(m.reason, (missed.get(m.reason) ?? 0) + m.count);
  const missedRows = [...missed.entries()].sort((a, b) => b[1] - a[1]).map(([reason, count]) => ({ label: outcomeLabel(reason), value: count }));
  const missedChart = (
    <HBarChart
      caption="Missed leads by reason, last 7 days"
      summary={missedRows.length ? `${missedRows.reduce((s, r) => s + r.value, 0)} missed; most often: ${missedRows[0].label}.` : "No lead missed."}
      rows={missedRows}
    />
  );
  if (error || !state?.money)
    return state === null && !error ? (
      <Loading label="Loading the charts…" />
    ) : (
      <div class="chart-grid">
        {capChart}
        {missedChart}
      </div>
    );
  const acct = state.money;

  // Days, oldest first, in the viewer's time zone.
  const days: string[] = [];
  for (let i = DAYS - 1; i >= 0; i--) days.push(dayKey(new Date(Date.now() - i * 86400_000)));
  const spend = new Map<string, number>();
  const net = new Map<string, number>();
  for (const e of state.entries) {
    const d = dayKey(e.createdAt);
    net.set(d, (net.get(d) ?? 0) + e.amount.amountMinor);
    if (e.kind === "LEAD_CHARGE") {
      spend.set(d, (spend.get(d) ?? 0) - e.amount.amountMinor);
    }
  }
  // The balance at the end of each day: today's balance, walked back through each day's entries.
  let running = acct.balance.amountMinor;
  const balance: { label: string; value: number }[] = [];
  for (let i = days.length - 1; i >= 0; i--) {
    balance.unshift({ label: days[i], value: running });
    running -= net.get(days[i]) ?? 0;
  }
  const spendPoints = days.map((d) => ({ label: d, value: spend.get(d) ?? 0 }));
  const totalSpend = spendPoints.reduce((s, p) => s + p.value, 0);
  const r = acct.returnStats;
  return (
    <div class="chart-grid">
      <LineChart
        caption={`Balance, last ${DAYS} days`}
        summary={`Now ${money(acct.balance.amountMinor)}; ${DAYS} days ago ${money(balance[0].value)}.`}
        points={balance}
        format={money}
      />
      <BarChart
        caption={`Spend on leads per day, last ${DAYS} days`}
        summary={`${money(totalSpend)} in all${state.truncated ? " (the most recent 2,000 ledger entries)" : ""}.`}
        points={spendPoints}
        format={money}
      />
      {capChart}
      <HBarChart
        caption={`Returns, last ${DAYS} days`}
        summary={`${r.requested} asked for ${r.sales} leads bought (${Math.round(r.rate * 100)} %).`}
        rows={[
          { label: "Leads bought", value: r.sales },
          { label: "Returns asked", value: r.requested },
          { label: "Approved", value: r.approved },
          { label: "Declined", value: r.declined },
          { label: "Pending", value: r.pending },
        ]}
      />
      {missedChart}
    </div>
  );
}
