// Returns (docs/money.md): a partner asks to return a bought lead within its
// window; the operator reviews the queue by due date and approves or declines.
import { useState } from "preact/hooks";
import { request } from "../api";
import { humanize } from "../format";
import { graphql } from "../gql";
import type { ReturnReason, ReturnStatus } from "../gql/graphql";
import { useForm, usePaged, useQuery } from "../hooks";
import { idPath, Link } from "../router";
import { useSession } from "../session";
import { Badge, ErrorBox, LoadMore, Money, Notice, PagedTable, PageTitle, Section, Time } from "../ui/common";
import { CheckField, ErrorSummary, OtherErrors, renameErrors, SelectField, Submit, TextAreaField } from "../ui/forms";

export const REASONS: Record<ReturnReason, string> = {
  NO_WORKING_PHONE: "No working phone number",
  NEVER_REQUESTED_QUOTE: "The consumer never asked for a quote",
  OUTSIDE_FILTER_AT_DELIVERY: "Outside my filter when it was delivered",
  REPRESENTATIVE_FOR_CONSUMER: "A representative, not the consumer",
  CALLED_BY_OTHER_AGENTS: "Already called by other agents",
  CONSUMER_UNRESPONSIVE: "The consumer does not respond",
  EMAIL_UNANSWERED_OR_INVALID: "E-mail unanswered or invalid",
  FILTER_CHANGED_WITHOUT_PAUSE: "My filter changed without a pause",
  NOTIFICATION_NOT_RECEIVED: "I never received the notification",
  WRONG_NUMBER: "Call: the caller meant to reach someone else",
  NO_CUSTOMER_ON_LINE: "Call: nobody was on the line",
  DUPLICATE_CALLER: "Call: the same caller was billed in the last 7 days",
};

const STATUSES: ReturnStatus[] = ["PENDING", "APPROVED", "DECLINED", "WITHDRAWN"];

const EligibilityDoc = graphql(`
  query ReturnEligibility($leadId: ID!) {
    returnEligibility(leadId: $leadId) {
      returnable
      deliveredAt
      closesAt
      timeZone
      whyNot
      returnRequest {
        id
        status
        reasonLabel
        requestedAt
        dueAt
        reviewNote
      }
    }
  }
`);

const RequestReturnDoc = graphql(`
  mutation RequestReturn($input: RequestReturnInput!) {
    requestReturn(input: $input) {
      returnRequest {
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

const ReturnsDoc = graphql(`
  query Returns($status: ReturnStatus, $overdue: Boolean!, $first: Int, $after: String) {
    returns(status: $status, overdue: $overdue, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          status
          reasonLabel
          note
          requestedAt
          dueAt
          overdue
          reviewedAt
          reviewNote
          evidence
          amount {
            amountMinor
            currency
          }
          lead {
            id
            firstName
            lastName
          }
          account {
            id
            name
          }
        }
      }
    }
  }
`);

const ReviewReturnDoc = graphql(`
  mutation ReviewReturn($input: ReviewReturnInput!) {
    reviewReturn(input: $input) {
      returnRequest {
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

function StatusBadge({ status, overdue }: { status: string; overdue?: boolean }) {
  const kind = status === "APPROVED" ? "good" : status === "DECLINED" ? "bad" : status === "PENDING" ? (overdue ? "bad" : "warn") : "neutral";
  return <Badge kind={kind}>{overdue && status === "PENDING" ? "Pending, overdue" : humanize(status)}</Badge>;
}

/** The lead page's return section: the window, the request form, or the request's status. */
export function LeadReturn({ leadId }: { leadId: string }) {
  const q = useQuery(EligibilityDoc, { leadId });
  const form = useForm();
  const [reason, setReason] = useState<ReturnReason | "">("");
  const [note, setNote] = useState("");
  const e = q.data?.returnEligibility;
  if (q.error) return <ErrorBox message={q.error} retry={q.reload} />;
  if (!e) return null;
  const req = e.returnRequest;
  return (
    <Section title="Return" id="return-h">
      {req ? (
        <p>
          You asked to return it on <Time value={req.requestedAt} /> ({req.reasonLabel}): <StatusBadge status={req.status} />
          {req.status === "PENDING" && (
            <>
              {" "}
              — reviewed by <Time value={req.dueAt} />
            </>
          )}
          {req.reviewNote && <span class="muted"> · {req.reviewNote}</span>}. <Link to="/returns">All returns</Link>
        </p>
      ) : e.returnable ? (
        <form
          noValidate
          onSubmit={async (ev) => {
            ev.preventDefault();
            const ok = await form.submit(async () => {
              if (!reason) return { userErrors: [{ field: "reason", code: "REQUIRED", message: "Choose why you return it." }] };
              return (await request(RequestReturnDoc, { input: { leadId, reason, note } })).requestReturn;
            });
            if (ok) await q.reload();
          }}
        >
          <p>
            Delivered <Time value={e.deliveredAt} />. You can return it until <Time value={e.closesAt} /> ({e.timeZone}); if the
            marketplace approves, its price comes back as credits.
          </p>
          <ErrorSummary errors={form.errors} />
          <SelectField
            name="reason"
            label="Reason"
            value={reason}
            onValue={(v) => setReason(v as ReturnReason)}
            errors={form.errors}
            options={[{ value: "", label: "Choose a reason" }, ...Object.entries(REASONS).map(([value, label]) => ({ value, label }))]}
          />
          <TextAreaField name="note" label="Note (optional)" rows={2} value={note} onValue={setNote} errors={form.errors} />
          <OtherErrors errors={form.errors} shown={["reason", "note"]} />
          <Submit busy={form.busy} busyLabel="Sending…">
            Request a return
          </Submit>
        </form>
      ) : (
        <p class="muted">
          It cannot be returned: {e.whyNot} (the window closed <Time value={e.closesAt} />, {e.timeZone}).
        </p>
      )}
    </Section>
  );
}

export function Returns() {
  const { isOperator } = useSession();
  const [status, setStatus] = useState<string>(isOperator ? "PENDING" : "");
  const [overdue, setOverdue] = useState(false);
  const page = usePaged(ReturnsDoc, { status: (status || null) as ReturnStatus | null, overdue }, (d) => d.returns);
  return (
    <>
      <PageTitle>{isOperator ? "Return review" : "Returns"}</PageTitle>
      <p class="muted">
        {isOperator
          ? "Each request is due for review 10 days after it was made; the oldest due first."
          : "Leads you asked to return, and what the marketplace decided. Ask from a lead's page, within 7 days of delivery."}
      </p>
      <div class="inline-form filters">
        <SelectField
          name="returnStatus"
          label="Status"
          value={status}
          onValue={setStatus}
          options={[{ value: "", label: "Any status" }, ...STATUSES.map((s) => ({ value: s, label: humanize(s) }))]}
        />
        {isOperator && <CheckField name="overdue" label="Only overdue" checked={overdue} onChecked={setOverdue} />}
      </div>
      {isOperator ? (
        <>
          <ul class="plain review-queue">
            {page.items.map((r) => (
              <ReviewItem key={r.id} item={r} onDone={page.reload} />
            ))}
          </ul>
          <LoadMore page={page} noun="returns" />
        </>
      ) : (
        <PagedTable
          page={page}
          noun="returns"
          label="Returns"
          rowKey={(r) => r.id}
          columns={[
            {
              header: "Lead",
              cell: (r) =>
                r.lead ? (
                  <Link to={idPath("leads", r.lead.id)}>
                    {r.lead.firstName} {r.lead.lastName}
                  </Link>
                ) : (
                  "—"
                ),
            },
            {
              header: "Reason",
              cell: (r) => (
                <>
                  {r.reasonLabel}
                  {r.note && <span class="muted"> · {r.note}</span>}
                </>
              ),
            },
            { header: "Asked", cell: (r) => <Time value={r.requestedAt} /> },
            {
              header: "Status",
              cell: (r) => (
                <>
                  <StatusBadge status={r.status} />
                  {r.status === "PENDING" ? (
                    <span class="muted small">
                      {" "}
                      decision by <Time value={r.dueAt} />
                    </span>
                  ) : (
                    r.reviewNote && <span class="muted small"> {r.reviewNote}</span>
                  )}
                </>
              ),
            },
            { header: "Amount", num: true, cell: (r) => <Money value={r.amount} /> },
          ]}
        />
      )}
    </>
  );
}

type Item = {
  id: string;
  status: string;
  reasonLabel: string;
  note: string;
  requestedAt: string;
  dueAt: string;
  overdue: boolean;
  evidence: string[];
  amount: { amountMinor: number; currency: string };
  lead?: { id: string; firstName: string; lastName: string } | null;
  account?: { id: string; name: string } | null;
};

function ReviewItem({ item: r, onDone }: { item: Item; onDone: () => Promise<void> }) {
  const form = useForm();
  const [note, setNote] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const decide = async (decision: "APPROVE" | "DECLINE") => {
    const ok = await form.submit(async () => (await request(ReviewReturnDoc, { input: { returnId: r.id, decision, note } })).reviewReturn);
    if (ok) {
      setDone(decision === "APPROVE" ? "Approved: the price was credited." : "Declined.");
      setTimeout(() => void onDone(), 1200);
    }
  };
  const name = r.lead ? `${r.lead.firstName} ${r.lead.lastName}` : "a lead";
  return (
    <li class="card return-item" aria-labelledby={`ret-${r.id}`}>
      <h2 id={`ret-${r.id}`}>
        {r.account?.name ?? "A partner"} returns {r.lead ? <Link to={idPath("leads", r.lead.id)}>{name}</Link> : name} · <Money value={r.amount} />
      </h2>
      <p>
        <StatusBadge status={r.status} overdue={r.overdue} /> {r.reasonLabel}
        {r.note && <> — “{r.note}”</>}
      </p>
      <p class="muted small">
        Asked <Time value={r.requestedAt} /> · due <Time value={r.dueAt} />
      </p>
      {r.evidence.length > 0 && (
        <details>
          <summary>What Leadwire checked</summary>
          <ul class="plain-list">
            {r.evidence.map((e, i) => (
              <li key={i}>{e}</li>
            ))}
          </ul>
        </details>
      )}
      {r.status === "PENDING" &&
        (done ? (
          <Notice kind="success">{done}</Notice>
        ) : (
          <div>
            <ErrorSummary errors={form.errors} />
            <TextAreaField
              name={`note-${r.id}`}
              label={`Note to the partner about ${name} (required to decline)`}
              rows={2}
              value={note}
              onValue={setNote}
              errors={renameErrors(form.errors, { note: `note-${r.id}` })}
            />
            <OtherErrors errors={form.errors} shown={["note"]} />
            <div class="button-row">
              <button type="button" class="primary" disabled={form.busy} onClick={() => void decide("APPROVE")}>
                Approve<span class="visually-hidden"> the return of {name}</span>
              </button>
              <button type="button" class="danger" disabled={form.busy} onClick={() => void decide("DECLINE")}>
                Decline<span class="visually-hidden"> the return of {name}</span>
              </button>
            </div>
          </div>
        ))}
    </li>
  );
}
