import { useEffect, useState } from "preact/hooks";
import { request } from "../api";
import { graphql } from "../gql";
import type { PartnersQuery, RecordedPaymentMethod } from "../gql/graphql";
import { useForm, usePaged, useQuery } from "../hooks";
import { Badge, LoadMore, Money, Notice, PageTitle, Section, TableWrap, Time } from "../ui/common";
import { formatMoney, parseMoney } from "../format";
import { ErrorSummary, OtherErrors, SelectField, Submit, TextField } from "../ui/forms";

const PartnersDoc = graphql(`
  query Partners($first: Int, $after: String) {
    accounts(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          kind
          name
          status
          approved
          createdAt
          phone
          website
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
    }
  }
`);

const StaffDoc = graphql(`
  query Staff {
    users(first: 100) {
      edges {
        node {
          id
          name
          email
          barred
        }
      }
    }
  }
`);

const ApproveDoc = graphql(`
  mutation ApprovePartner($input: AccountIdInput!) {
    approvePartner(input: $input) {
      account {
        id
        approved
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const SetManagerDoc = graphql(`
  mutation SetAccountManager($input: SetAccountManagerInput!) {
    setAccountManager(input: $input) {
      account {
        id
        accountManager {
          name
          email
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

type Account = PartnersQuery["accounts"]["edges"][number]["node"];

export function Partners() {
  const page = usePaged(PartnersDoc, {}, (d) => d.accounts, 50);
  const staff = useQuery(StaffDoc, {});
  const form = useForm();
  const [done, setDone] = useState<string | null>(null);
  const partners = page.items.filter((a) => a.kind === "PARTNER");
  const waiting = partners.filter((a) => !a.approved).length;
  const staffOptions = (staff.data?.users.edges ?? []).map((e) => e.node).filter((u) => !u.barred);

  const act = async (message: string, fn: () => Promise<{ userErrors: { field: string | null; code: string; message: string }[] }>) => {
    setDone(null);
    if (await form.submit(fn)) {
      setDone(message);
      await page.reload();
    }
  };

  return (
    <>
      <PageTitle>Partners</PageTitle>
      <p>Partner accounts, newest first. Their campaigns receive leads only once approved.</p>
      {waiting > 0 && (
        <Notice kind="warning">
          {waiting} partner{waiting === 1 ? "" : "s"} on this page {waiting === 1 ? "is" : "are"} waiting for approval.
        </Notice>
      )}
      <ErrorSummary errors={form.errors} />
      {done && <Notice kind="success">{done}</Notice>}
      <TableWrap label="Partners">
        <table>
          <thead>
            <tr>
              <th scope="col">Partner</th>
              <th scope="col">Approval</th>
              <th scope="col">Balance</th>
              <th scope="col">Account manager</th>
              <th scope="col">Signed up</th>
            </tr>
          </thead>
          <tbody>
            {partners.map((a) => (
              <tr key={a.id}>
                <td>
                  <strong>{a.name}</strong>
                  {a.status === "CLOSED" && (
                    <>
                      {" "}
                      <Badge kind="bad">Closed</Badge>
                    </>
                  )}
                  <div class="muted small">
                    {[a.phone, a.website].filter(Boolean).join(" · ")}
                  </div>
                </td>
                <td>
                  {a.approved ? (
                    <Badge kind="good">Approved</Badge>
                  ) : (
                    <button type="button" class="primary" disabled={form.busy} onClick={() => void act(`${a.name} is approved: its campaigns go live.`, async () => (await request(ApproveDoc, { input: { accountId: a.id } })).approvePartner)}>
                      Approve<span class="visually-hidden"> {a.name}</span>
                    </button>
                  )}
                </td>
                <td>
                  <Money value={a.balance} />
                </td>
                <td>
                  <ManagerPicker account={a} staff={staffOptions} busy={form.busy} onSave={(staffUserId) => act(`Account manager of ${a.name} saved.`, async () => (await request(SetManagerDoc, { input: { accountId: a.id, staffUserId } })).setAccountManager)} />
                </td>
                <td>
                  <Time value={a.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <LoadMore page={page} noun="accounts" />
      <RecordPayment partners={partners} onDone={page.reload} />
    </>
  );
}

const RecordPaymentDoc = graphql(`
  mutation RecordManualPayment($input: RecordManualPaymentInput!) {
    recordManualPayment(input: $input) {
      balance {
        amountMinor
        currency
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

/** A bank transfer or check the marketplace received, deposited on a partner's balance (docs/money.md). */
function RecordPayment({ partners, onDone }: { partners: Account[]; onDone: () => Promise<void> }) {
  const form = useForm();
  const [v, setV] = useState({ accountId: "", amount: "", method: "BANK_TRANSFER", reference: "", note: "" });
  const [done, setDone] = useState<string | null>(null);
  const set = (k: keyof typeof v) => (value: string) => setV({ ...v, [k]: value });
  const currency = partners.find((a) => a.id === v.accountId)?.balance.currency ?? "USD";
  return (
    <Section title="Record a bank transfer or check" id="record-h">
      <form
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setDone(null);
          const minor = parseMoney(v.amount, currency);
          let balance = "";
          const ok = await form.submit(async () => {
            const bad = [
              ...(!v.accountId ? [{ field: "accountId", code: "REQUIRED", message: "Choose the partner who paid." }] : []),
              ...(minor === null ? [{ field: "amountMinor", code: "INVALID", message: "Enter an amount, e.g. 500.00." }] : []),
            ];
            if (bad.length) return { userErrors: bad };
            const r = (
              await request(RecordPaymentDoc, {
                input: { accountId: v.accountId, amountMinor: minor!, method: v.method as RecordedPaymentMethod, reference: v.reference, note: v.note },
              })
            ).recordManualPayment;
            balance = formatMoney(r.balance);
            return r;
          });
          if (ok) {
            setDone(`Recorded: the balance is now ${balance}.`);
            setV({ ...v, amount: "", reference: "", note: "" });
            await onDone();
          }
        }}
      >
        <ErrorSummary errors={form.errors} />
        <div class="row">
          <SelectField
            name="accountId"
            label="Partner"
            value={v.accountId}
            onValue={set("accountId")}
            errors={form.errors}
            options={[{ value: "", label: "Choose a partner" }, ...partners.map((a) => ({ value: a.id, label: a.name }))]}
          />
          <TextField name="amountMinor" label={`Amount (${currency})`} inputMode="decimal" value={v.amount} onValue={set("amount")} errors={form.errors} />
          <SelectField
            name="method"
            label="Received by"
            value={v.method}
            onValue={set("method")}
            errors={form.errors}
            options={[
              { value: "BANK_TRANSFER", label: "Bank transfer" },
              { value: "CHECK", label: "Check" },
            ]}
          />
        </div>
        <div class="row">
          <TextField name="reference" label="Transfer reference or check number" value={v.reference} onValue={set("reference")} errors={form.errors} />
          <TextField name="note" label="Note (optional)" value={v.note} onValue={set("note")} errors={form.errors} />
        </div>
        <OtherErrors errors={form.errors} shown={["accountId", "amountMinor", "method", "reference", "note"]} />
        <Submit busy={form.busy} busyLabel="Recording…">
          Record payment
        </Submit>
        {done && <Notice kind="success">{done}</Notice>}
      </form>
    </Section>
  );
}

function ManagerPicker({
  account,
  staff,
  busy,
  onSave,
}: {
  account: Account;
  staff: { id: string; name: string; email: string }[];
  busy: boolean;
  onSave: (staffUserId: string | null) => Promise<void>;
}) {
  const current = staff.find((s) => s.email === account.accountManager?.email)?.id ?? "";
  const [value, setValue] = useState(current);
  useEffect(() => setValue(current), [current]);
  const id = `am-${account.id.replace(/[^A-Za-z0-9]/g, "")}`;
  return (
    <form
      class="cell-form"
      onSubmit={(e) => {
        e.preventDefault();
        void onSave(value || null);
      }}
    >
      <label for={id} class="visually-hidden">
        Account manager of {account.name}
      </label>
      <select id={id} value={value} onChange={(e) => setValue((e.currentTarget as HTMLSelectElement).value)}>
        <option value="">None</option>
        {staff.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name}
          </option>
        ))}
      </select>
      <button type="submit" disabled={busy || value === current}>
        Save<span class="visually-hidden"> account manager of {account.name}</span>
      </button>
    </form>
  );
}
