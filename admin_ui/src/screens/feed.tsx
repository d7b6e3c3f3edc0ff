import { useEffect, useState } from "preact/hooks";
import { chime, markSeen, saveFeedSettings, startFeed, useFeed } from "../feed";
import { graphql } from "../gql";
import { useQuery } from "../hooks";
import { idPath, Link } from "../router";
import { Badge, ErrorBox, Money, PageTitle, Section, Time } from "../ui/common";

const RecentDoc = graphql(`
  query RecentLeads {
    leads(first: 10) {
      edges {
        node {
          id
          firstName
          lastName
          city
          state
          postalCode
          createdAt
          product {
            name
          }
        }
      }
    }
  }
`);

const STATE_TEXT = {
  connecting: "Connecting…",
  live: "Live: new leads appear here the moment they are sold to you.",
  reconnecting: "Connection lost: reconnecting…",
  closed: "Not connected.",
};

export function LiveFeed() {
  const feed = useFeed();
  const recent = useQuery(RecentDoc, {});
  const [permission, setPermission] = useState<string>("Notification" in window ? Notification.permission : "unsupported");
  useEffect(() => {
    markSeen();
  }, [feed.events.length]);
  const s = feed.settings;
  const shown = new Set(feed.events.map((e) => e.lead.id));

  return (
    <>
      <PageTitle>Live lead feed</PageTitle>
      <p class={`feed-state ${feed.state}`} role="status">
        <span class="dot" aria-hidden="true" /> {STATE_TEXT[feed.state]}
      </p>
      {feed.error && (
        <ErrorBox
          message={`The live feed stopped: ${feed.error}`}
          retry={() => {
            startFeed();
          }}
        />
      )}
      <fieldset class="card feed-options">
        <legend>When a lead arrives</legend>
        <label class="check-inline">
          <input
            type="checkbox"
            checked={s.sound}
            onChange={(e) => {
              const on = (e.currentTarget as HTMLInputElement).checked;
              saveFeedSettings({ ...s, sound: on });
              if (on) chime();
            }}
          />{" "}
          Play a sound
        </label>
        <label class="check-inline">
          <input
            type="checkbox"
            checked={s.notify && permission === "granted"}
            disabled={permission === "unsupported" || permission === "denied"}
            onChange={async (e) => {
              const on = (e.currentTarget as HTMLInputElement).checked;
              if (on && Notification.permission !== "granted") {
                const answer = await Notification.requestPermission();
                setPermission(answer);
                saveFeedSettings({ ...s, notify: answer === "granted" });
              } else {
                saveFeedSettings({ ...s, notify: on });
              }
            }}
          />{" "}
          Show a browser notification
        </label>
        {permission === "denied" && <p class="muted small">Notifications are blocked for this site in your browser's settings.</p>}
        {permission === "unsupported" && <p class="muted small">This browser cannot show notifications.</p>}
      </fieldset>
      <Section title="New leads" id="new-h">
        <ol class="feed" aria-live="polite" aria-relevant="additions">
          {feed.events.length === 0 && <li class="empty">Waiting for leads… keep this page open.</li>}
          {feed.events.map((e) => {
            const l = e.lead;
            return (
              <li key={l.id} class="feed-item fresh">
                <div>
                  <Link to={idPath("leads", l.id)} class="feed-name">
                    {l.firstName} {l.lastName}
                  </Link>{" "}
                  {e.kind === "SOLD" ? <Badge kind="good">New lead</Badge> : <Badge>Assigned</Badge>}
                </div>
                <div class="muted">
                  {l.city} {l.state} {l.postalCode}
                  {l.product && ` · ${l.product.name}`}
                  {l.sale && (
                    <>
                      {" "}
                      · <Money value={l.sale.price} /> via {l.sale.campaign.name}
                    </>
                  )}
                  {l.assignee && ` · assigned to ${l.assignee.name}`}
                </div>
                <div class="small">
                  <a href={`tel:${l.phone}`}>{l.phone}</a> · <Time value={l.sale?.soldAt ?? l.createdAt} />
                </div>
              </li>
            );
          })}
        </ol>
      </Section>
      {recent.data && (
        <Section title="Earlier" id="earlier-h">
          <ul class="plain-list">
            {recent.data.leads.edges
              .filter((e) => !shown.has(e.node.id))
              .map(({ node: l }) => (
                <li key={l.id}>
                  <Link to={idPath("leads", l.id)}>
                    {l.firstName} {l.lastName}
                  </Link>{" "}
                  · {l.city} {l.state} {l.postalCode}
                  {l.product && ` · ${l.product.name}`} · <Time value={l.createdAt} />
                </li>
              ))}
          </ul>
          <p>
            <Link to="/leads">All leads</Link>
          </p>
        </Section>
      )}
    </>
  );
}
