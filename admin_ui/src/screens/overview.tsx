import { useMemo } from "preact/hooks";
import { outcomeLabel } from "../format";
import { graphql } from "../gql";
import { useQuery } from "../hooks";
import { idPath, Link } from "../router";
import { useSession } from "../session";
import { DashboardCharts } from "./dashboard";
import { Badge, ErrorBox, Loading, Money, Notice, PageTitle, Section, TableWrap, Time } from "../ui/common";

const OverviewDoc = graphql(`
  query Overview($since: DateTime!) {
    viewer {
      account {
        id
        name
        approved
        status
        balance {
          amountMinor
          currency
        }
        accountManager {
          name
          email
        }
      }
    }
    campaigns(first: 50) {
      totalCount
      edges {
        node {
          id
          name
          status
          paused
          lastSoldAt
          dailyCap
          offer {
            price {
              amountMinor
              currency
            }
          }
          missedLeads(since: $since) {
            reason
            count
          }
        }
      }
    }
    leads(first: 5) {
      totalCount
      edges {
        node {
          id
          firstName
          lastName
          city
          state
          createdAt
        }
      }
    }
  }
`);

export function Overview() {
  const { viewer } = useSession();
  const since = useMemo(() => new Date(Date.now() - 7 * 86400_000).toISOString(), []);
  const q = useQuery(OverviewDoc, { since });
  const account = q.data?.viewer?.account;
  const campaigns = q.data?.campaigns.edges.map((e) => e.node) ?? [];
  const live = campaigns.filter((c) => c.status === "ACTIVE" && !c.paused).length;
  return (
    <>
      <PageTitle>Overview</PageTitle>
      {q.error && <ErrorBox message={q.error} retry={q.reload} />}
      {q.loading && !q.data && <Loading />}
      {account && (
        <>
          {!account.approved && (
            <Notice kind="warning">
              <p>
                <strong>Your account is waiting for the marketplace's approval.</strong> You can set up campaigns now; they
                start receiving leads once the account is approved.
              </p>
            </Notice>
          )}
          <div class="stat-grid">
            <div class="stat card">
              <h2>Balance</h2>
              <p class="stat-value">
                <Money value={account.balance} />
              </p>
              <p class="muted">Prepaid; each lead received is charged from it.</p>
            </div>
            <div class="stat card">
              <h2>Campaigns</h2>
              <p class="stat-value">
                {live} <span class="stat-unit">receiving leads</span>
              </p>
              <p class="muted">
                {q.data!.campaigns.totalCount} in all · <Link to="/campaigns">Manage campaigns</Link>
              </p>
            </div>
            <div class="stat card">
              <h2>Leads</h2>
              <p class="stat-value">{q.data!.leads.totalCount}</p>
              <p class="muted">
                visible to you · <Link to="/leads">All leads</Link>
              </p>
            </div>
            <div class="stat card">
              <h2>Account manager</h2>
              {account.accountManager ? (
                <>
                  <p class="stat-name">{account.accountManager.name}</p>
                  <p>
                    <a href={`mailto:${account.accountManager.email}`}>{account.accountManager.email}</a>
                  </p>
                </>
              ) : (
                <p class="muted">Not assigned yet.</p>
              )}
            </div>
          </div>
          <DashboardCharts campaigns={campaigns} currency={account.balance.currency} />
          {campaigns.length === 0 ? (
            <Section title="Get started">
              <p>
                Pick a Lead Deal and activate it: that creates your first campaign. <Link to="/deals">Browse Lead Deals</Link>
              </p>
            </Section>
          ) : (
            <Section title="Missed leads, last 7 days" id="missed-h">
              <p class="muted">Leads your campaigns were a candidate for but did not get, by reason.</p>
              <TableWrap label="Missed leads by campaign">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Campaign</th>
                      <th scope="col">State</th>
                      <th scope="col">Price</th>
                      <th scope="col">Last lead</th>
                      <th scope="col">Missed (why)</th>
                    </tr>
                  </thead>
                  <tbody>
                    {campaigns.map((c) => (
                      <tr key={c.id}>
                        <td>
                          <Link to={idPath("campaigns", c.id, "missed")}>{c.name}</Link>
                        </td>
                        <td>
                          <CampaignState status={c.status} paused={c.paused} />
                        </td>
                        <td>
                          <Money value={c.offer.price} />
                        </td>
                        <td>
                          <Time value={c.lastSoldAt} />
                        </td>
                        <td>
                          {c.missedLeads.length === 0
                            ? "None"
                            : c.missedLeads.map((m) => `${m.count} · ${outcomeLabel(m.reason)}`).join("; ")}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            </Section>
          )}
          {q.data!.leads.edges.length > 0 && (
            <Section title="Latest leads">
              <ul class="plain-list">
                {q.data!.leads.edges.map(({ node: l }) => (
                  <li key={l.id}>
                    <Link to={idPath("leads", l.id)}>
                      {l.firstName} {l.lastName}
                    </Link>{" "}
                    · {l.city} {l.state} · <Time value={l.createdAt} />
                  </li>
                ))}
              </ul>
            </Section>
          )}
          <p class="muted small">Signed in as {viewer.user.email}.</p>
        </>
      )}
    </>
  );
}

export function CampaignState({ status, paused }: { status: string; paused: boolean }) {
  if (status === "DISABLED") return <Badge kind="bad">Disabled</Badge>;
  if (paused) return <Badge kind="warn">Paused</Badge>;
  return <Badge kind="good">Active</Badge>;
}
