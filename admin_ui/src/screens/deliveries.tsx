import { useState } from "preact/hooks";
import { request } from "../api";
import { humanize } from "../format";
import { graphql } from "../gql";
import type { DeliveryFieldsFragment, DeliveryStatus } from "../gql/graphql";
import { useForm, usePaged } from "../hooks";
import { useSession } from "../session";
import { Badge, LoadMore, PageTitle, TableWrap, Time } from "../ui/common";
import { ErrorSummary, SelectField } from "../ui/forms";

export const DeliveryFields = graphql(`
  fragment DeliveryFields on Delivery {
    id
    channel
    channelLabel
    status
    attempts
    maxAttempts
    nextAttemptAt
    providerMessageId
    lastError
    idempotencyKey
    resend
    createdAt
    finishedAt
    attemptLog {
      number
      startedAt
      latencyMs
      outcome
      statusCode
      providerMessageId
      error
    }
  }
`);

const DeliveriesDoc = graphql(`
  query Deliveries($status: DeliveryStatus, $first: Int, $after: String) {
    deliveries(status: $status, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          ...DeliveryFields
        }
      }
    }
  }
`);

const ResendDoc = graphql(`
  mutation ResendDelivery($input: ResendDeliveryInput!) {
    resendDelivery(input: $input) {
      delivery {
        id
        status
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

function StatusBadge({ status }: { status: string }) {
  const kind = status === "DELIVERED" ? "good" : status === "FAILED" ? "bad" : "warn";
  return <Badge kind={kind}>{humanize(status)}</Badge>;
}

function OutcomeBadge({ outcome }: { outcome: string }) {
  const kind = outcome === "DELIVERED" ? "good" : outcome === "FAILED" ? "bad" : outcome === "IN_PROGRESS" ? "neutral" : "warn";
  return <Badge kind={kind}>{humanize(outcome)}</Badge>;
}

/** One delivery with its attempt log and a Re-send button. */
export function DeliveryCard({ delivery: d, onResent }: { delivery: DeliveryFieldsFragment; onResent: () => void }) {
  const form = useForm();
  const [resent, setResent] = useState(false);
  const finished = d.status === "DELIVERED" || d.status === "FAILED";
  return (
    <article class="delivery" aria-label={`${d.channelLabel} delivery`}>
      <header class="delivery-head">
        <h3>
          {d.channelLabel} {d.resend && <span class="muted small">(re-sent)</span>}
        </h3>
        <StatusBadge status={d.status} />
        <span class="muted small">
          {d.attempts} of {d.maxAttempts} attempts · created <Time value={d.createdAt} />
          {d.finishedAt && (
            <>
              {" "}
              · finished <Time value={d.finishedAt} />
            </>
          )}
          {d.nextAttemptAt && (
            <>
              {" "}
              · next attempt <Time value={d.nextAttemptAt} />
            </>
          )}
        </span>
        {finished && (
          <button
            type="button"
            class="resend"
            disabled={form.busy || resent}
            onClick={async () => {
              const ok = await form.submit(async () => (await request(ResendDoc, { input: { deliveryId: d.id } })).resendDelivery);
              if (ok) {
                setResent(true);
                onResent();
              }
            }}
          >
            {resent ? "Re-sent" : form.busy ? "Re-sending…" : "Re-send"}
            <span class="visually-hidden"> by {d.channelLabel}</span>
          </button>
        )}
      </header>
      <ErrorSummary errors={form.errors} />
      {d.lastError && (
        <p class="delivery-error">
          <strong>Last error:</strong> {d.lastError}
        </p>
      )}
      {d.attemptLog.length > 0 && (
        <TableWrap label={`${d.channelLabel} attempts`}>
          <table class="compact">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Started</th>
                <th scope="col">Outcome</th>
                <th scope="col">Status</th>
                <th scope="col">Time taken</th>
                <th scope="col">Provider id / error</th>
              </tr>
            </thead>
            <tbody>
              {d.attemptLog.map((a) => (
                <tr key={a.number}>
                  <td>{a.number}</td>
                  <td>
                    <Time value={a.startedAt} />
                  </td>
                  <td>
                    <OutcomeBadge outcome={a.outcome} />
                  </td>
                  <td>{a.statusCode ?? "—"}</td>
                  <td>{a.latencyMs !== null ? `${a.latencyMs} ms` : "—"}</td>
                  <td class="wrap">{a.error || a.providerMessageId || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <p class="muted small">
        Idempotency key <code>{d.idempotencyKey}</code>
        {d.providerMessageId && (
          <>
            {" "}
            · provider id <code>{d.providerMessageId}</code>
          </>
        )}
      </p>
    </article>
  );
}

const STATUSES = [
  { value: "FAILED", label: "Failed" },
  { value: "PENDING", label: "Pending" },
  { value: "DELIVERED", label: "Delivered" },
  { value: "", label: "All" },
];

export function Deliveries() {
  const { isOperator } = useSession();
  const [status, setStatus] = useState<string>(isOperator ? "FAILED" : "");
  const page = usePaged(DeliveriesDoc, { status: (status || null) as DeliveryStatus | null }, (d) => d.deliveries, 20);
  return (
    <>
      <PageTitle>Deliveries</PageTitle>
      <p>
        {isOperator
          ? "Every courtesy delivery of a sold lead (e-mail, SMS, CRM push), newest first. Failing ones need a look at the partner's Integration settings or the channel's configuration."
          : "The courtesy copies of your leads (e-mail, SMS, CRM push), newest first. A failed one can be re-sent."}
      </p>
      <SelectField name="status" label="Show" value={status} onValue={setStatus} options={STATUSES} class="narrow" />
      {page.totalCount !== null && (
        <p role="status">
          {page.totalCount} {status ? humanize(status).toLowerCase() : ""} deliver{page.totalCount === 1 ? "y" : "ies"}
        </p>
      )}
      {page.items.map((d) => (
        <DeliveryCard key={d.id} delivery={d} onResent={() => void page.reload()} />
      ))}
      <LoadMore page={page} noun="deliveries" />
    </>
  );
}
