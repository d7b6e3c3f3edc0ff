// Funds (docs/money.md): balance, add funds with a card on file, cards,
// auto-charge, the ledger and the payments, page after page.
import { useState } from "preact/hooks";
import { request } from "../api";
import { formatMoney, humanize, minorDigits, parseMoney } from "../format";
import { graphql } from "../gql";
import type { FundsQuery, LedgerEntryKind } from "../gql/graphql";
import { useForm, usePaged, useQuery } from "../hooks";
import { idPath, Link } from "../router";
import { useSession } from "../session";
import { Badge, ErrorBox, Loading, Money, Notice, PagedTable, PageTitle, Section, Stat, TableWrap, Time } from "../ui/common";
import { CheckField, ErrorSummary, OtherErrors, renameErrors, SelectField, Submit, TextField } from "../ui/forms";

const FundsDoc = graphql(`
  query Funds {
    paymentGateways {
      name
      label
      savesPaymentMethods
      operatorRecorded
    }
    viewer {
      account {
        id
        currency
        money {
          balance {
            amountMinor
            currency
          }
          credits {
            amountMinor
            currency
          }
          refundable {
            amountMinor
            currency
          }
          paymentMethods {
            id
            label
            brand
            last4
            expMonth
            expYear
            isDefault
          }
          autoCharge {
            enabled
            state
            failures
            lastError
            lastChargedAt
            threshold {
              amountMinor
              currency
            }
            amount {
              amountMinor
              currency
            }
            paymentMethod {
              id
            }
          }
        }
      }
    }
  }
`);

const LedgerDoc = graphql(`
  query Ledger($kind: LedgerEntryKind, $first: Int, $after: String) {
    viewer {
      account {
        money {
          ledger(kind: $kind, first: $first, after: $after) {
            totalCount
            pageInfo {
              hasNextPage
              endCursor
            }
            edges {
              node {
                id
                kind
                memo
                createdAt
                amount {
                  amountMinor
                  currency
                }
                creditAmount {
                  amountMinor
                  currency
                }
                lead {
                  id
                  firstName
                  lastName
                }
                payment {
                  id
                  methodLabel
                }
              }
            }
          }
        }
      }
    }
  }
`);

const PaymentsDoc = graphql(`
  query AccountPayments($first: Int, $after: String) {
    viewer {
      account {
        money {
          payments(first: $first, after: $after) {
            totalCount
            pageInfo {
              hasNextPage
              endCursor
            }
            edges {
              node {
                id
                purpose
                status
                methodLabel
                failureMessage
                createdAt
                amount {
                  amountMinor
                  currency
                }
              }
            }
          }
        }
      }
    }
  }
`);

const AddFundsDoc = graphql(`
  mutation AddFunds($input: AddFundsInput!) {
    addFunds(input: $input) {
      payment {
        id
        status
        failureMessage
      }
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

const SetDefaultCardDoc = graphql(`
  mutation SetDefaultCard($input: PaymentMethodInput!) {
    setDefaultPaymentMethod(input: $input) {
      paymentMethod {
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

const RemoveCardDoc = graphql(`
  mutation RemoveCard($input: PaymentMethodInput!) {
    removePaymentMethod(input: $input) {
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const AutoChargeDoc = graphql(`
  mutation UpdateAutoCharge($input: UpdateAutoChargeInput!) {
    updateAutoCharge(input: $input) {
      autoCharge {
        enabled
        state
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const KINDS: LedgerEntryKind[] = ["DEPOSIT", "LEAD_CHARGE", "RETURN_CREDIT", "REFUND", "FEE", "ADJUSTMENT"];

type MoneyInfo = NonNullable<NonNullable<FundsQuery["viewer"]>["account"]["money"]>;

function toUnits(minor: number, currency: string): string {
  return (minor / 10 ** minorDigits(currency)).toFixed(minorDigits(currency));
}

export function Funds() {
  const { isOwner } = useSession();
  const q = useQuery(FundsDoc, {});
  // Money moved: the ledger and payments load again from their first page.
  const [rev, setRev] = useState(0);
  const changed = async () => {
    setRev((r) => r + 1);
    await q.reload();
  };
  if (q.error) return <ErrorBox message={q.error} retry={q.reload} />;
  if (q.loading && !q.data) return <Loading />;
  const account = q.data?.viewer?.account;
  const money = account?.money;
  if (!account || !money) {
    return (
      <>
        <PageTitle>Funds</PageTitle>
        <p>Only the account's owner sees its money.</p>
      </>
    );
  }
  const cards = q.data!.paymentGateways.some((g) => g.savesPaymentMethods);
  return (
    <>
      <PageTitle>Funds</PageTitle>
      <div class="stat-grid">
        <Stat label="Balance">
          <Money value={money.balance} />
        </Stat>
        <Stat label="Of which credits">
          <Money value={money.credits} />
        </Stat>
        <Stat label="Refundable deposits">
          <Money value={money.refundable} />
        </Stat>
      </div>
      {isOwner && (
        <div class="two-col">
          <AddFunds money={money} currency={account.currency} cardsEnabled={cards} onDone={changed} />
          <Cards money={money} cardsEnabled={cards} onChange={q.reload} />
        </div>
      )}
      {isOwner && <AutoCharge money={money} currency={account.currency} onSaved={changed} />}
      <Ledger key={`l${rev}`} />
      <Payments key={`p${rev}`} />
    </>
  );
}

function AddFunds({ money, currency, cardsEnabled, onDone }: { money: MoneyInfo; currency: string; cardsEnabled: boolean; onDone: () => Promise<void> }) {
  const form = useForm();
  const [amount, setAmount] = useState("100.00");
  const [card, setCard] = useState("");
  const [done, setDone] = useState<{ kind: "success" | "warning"; text: string } | null>(null);
  const methods = money.paymentMethods;
  return (
    <Section title="Add funds" id="add-funds-h">
      {!methods.length ? (
        <p class="muted">
          {cardsEnabled
            ? "Save a card first (see Cards on file)."
            : "No card gateway is set up on this marketplace: pay by bank transfer or check and the operator records it."}
        </p>
      ) : (
        <form
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            setDone(null);
            const minor = parseMoney(amount, currency);
            let status = "";
            let failure = "";
            const ok = await form.submit(async () => {
              if (minor === null)
                return { userErrors: [{ field: "amountMinor", code: "INVALID", message: "Enter an amount, e.g. 250.00." }] };
              const r = (
                await request(AddFundsDoc, {
                  input: { amountMinor: minor, paymentMethodId: card || null, idempotencyKey: crypto.randomUUID() },
                })
              ).addFunds;
              status = r.payment?.status ?? "";
              failure = r.payment?.failureMessage ?? "";
              return r;
            });
            if (ok) {
              setDone(
                status === "SUCCEEDED"
                  ? { kind: "success", text: `${formatMoney({ amountMinor: minor!, currency })} added.` }
                  : { kind: "warning", text: `The card payment is ${humanize(status).toLowerCase()}: the money is added when the card company answers. ${failure}` },
              );
              await onDone();
            }
          }}
        >
          <ErrorSummary errors={form.errors} />
          <TextField
            name="amountMinor"
            label={`Amount (${currency})`}
            hint="From 10.00 to 10,000.00 at a time."
            inputMode="decimal"
            value={amount}
            onValue={setAmount}
            errors={form.errors}
          />
          <SelectField
            name="paymentMethodId"
            label="Card"
            value={card}
            onValue={setCard}
            errors={form.errors}
            options={[
              { value: "", label: "The default card" },
              ...methods.map((m) => ({ value: m.id, label: m.label })),
            ]}
          />
          <OtherErrors errors={form.errors} shown={["amountMinor", "paymentMethodId"]} />
          <Submit busy={form.busy} busyLabel="Charging the card…">
            Add funds
          </Submit>
          {done && <Notice kind={done.kind}>{done.text}</Notice>}
        </form>
      )}
    </Section>
  );
}

function Cards({ money, cardsEnabled, onChange }: { money: MoneyInfo; cardsEnabled: boolean; onChange: () => Promise<void> }) {
  const form = useForm();
  return (
    <Section title="Cards on file" id="cards-h">
      <ErrorSummary errors={form.errors} />
      {money.paymentMethods.length === 0 ? (
        <p class="muted">No card saved.</p>
      ) : (
        <ul class="plain cards">
          {money.paymentMethods.map((m) => (
            <li key={m.id}>
              <span>
                {m.label} · expires {String(m.expMonth).padStart(2, "0")}/{m.expYear} {m.isDefault && <Badge kind="good">Default</Badge>}
              </span>
              <span class="row-actions">
                {!m.isDefault && (
                  <button
                    type="button"
                    disabled={form.busy}
                    onClick={async () => {
                      if (await form.submit(async () => (await request(SetDefaultCardDoc, { input: { paymentMethodId: m.id } })).setDefaultPaymentMethod))
                        await onChange();
                    }}
                  >
                    Make default<span class="visually-hidden"> ({m.label})</span>
                  </button>
                )}
                <button
                  type="button"
                  class="danger"
                  disabled={form.busy}
                  onClick={async () => {
                    if (!confirm(`Remove ${m.label}?`)) return;
                    if (await form.submit(async () => (await request(RemoveCardDoc, { input: { paymentMethodId: m.id } })).removePaymentMethod))
                      await onChange();
                  }}
                >
                  Remove<span class="visually-hidden"> {m.label}</span>
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      {cardsEnabled && (
        <p class="muted small">
          Cards are saved with the card gateway's own form (Stripe.js), which this bundled UI does not load; save one through the API
          (<code>startCardSetup</code>, then <code>completeCardSetup</code>) and it is listed here.
        </p>
      )}
    </Section>
  );
}

function AutoCharge({ money, currency, onSaved }: { money: MoneyInfo; currency: string; onSaved: () => Promise<void> }) {
  const current = money.autoCharge;
  const form = useForm();
  const [enabled, setEnabled] = useState(current?.enabled ?? false);
  const [threshold, setThreshold] = useState(toUnits(current?.threshold.amountMinor ?? 5000, currency));
  const [amount, setAmount] = useState(toUnits(current?.amount.amountMinor ?? 20000, currency));
  const [card, setCard] = useState(current?.paymentMethod?.id ?? "");
  const [saved, setSaved] = useState(false);
  const names = { enabled: "autoEnabled", thresholdMinor: "autoThresholdMinor", amountMinor: "autoAmountMinor", paymentMethodId: "autoPaymentMethodId" };
  const errors = renameErrors(form.errors, names);
  return (
    <Section title="Auto-charge" id="autocharge-h">
      <p class="muted">Charge a card whenever a sale takes the balance below a threshold, so that no lead is missed.</p>
      {current && (
        <p>
          Now: {current.enabled ? <Badge kind={current.state === "SUSPENDED" ? "bad" : "good"}>{humanize(current.state)}</Badge> : <Badge>Off</Badge>}
          {current.failures > 0 && <span class="muted"> · {current.failures} failed charges in a row: {current.lastError}</span>}
          {current.lastChargedAt && (
            <span class="muted">
              {" "}
              · last charged <Time value={current.lastChargedAt} />
            </span>
          )}
        </p>
      )}
      <form
        class="inline-form"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setSaved(false);
          const t = parseMoney(threshold, currency);
          const a = parseMoney(amount, currency);
          const ok = await form.submit(async () => {
            const bad = [
              ...(t === null ? [{ field: "thresholdMinor", code: "INVALID", message: "Enter an amount, e.g. 50.00." }] : []),
              ...(a === null ? [{ field: "amountMinor", code: "INVALID", message: "Enter an amount, e.g. 200.00." }] : []),
            ];
            if (bad.length) return { userErrors: bad };
            return (await request(AutoChargeDoc, { input: { enabled, thresholdMinor: t!, amountMinor: a!, paymentMethodId: card || null } }))
              .updateAutoCharge;
          });
          if (ok) {
            setSaved(true);
            await onSaved();
          }
        }}
      >
        <ErrorSummary errors={errors} />
        <CheckField name="autoEnabled" label="Charge my card automatically" checked={enabled} onChecked={setEnabled} errors={errors} />
        <TextField name="autoThresholdMinor" label={`When the balance falls below (${currency})`} inputMode="decimal" value={threshold} onValue={setThreshold} errors={errors} />
        <TextField name="autoAmountMinor" label={`Charge (${currency})`} inputMode="decimal" value={amount} onValue={setAmount} errors={errors} />
        <SelectField
          name="autoPaymentMethodId"
          label="Card to charge"
          value={card}
          onValue={setCard}
          errors={errors}
          options={[{ value: "", label: "The default card" }, ...money.paymentMethods.map((m) => ({ value: m.id, label: m.label }))]}
        />
        <OtherErrors errors={errors} shown={Object.values(names)} />
        <Submit busy={form.busy}>Save auto-charge</Submit>
        {saved && <Notice kind="success">Auto-charge saved.</Notice>}
      </form>
    </Section>
  );
}

function Ledger() {
  const [kind, setKind] = useState("");
  const page = usePaged(LedgerDoc, { kind: (kind || null) as LedgerEntryKind | null }, (d) => d.viewer?.account.money?.ledger);
  return (
    <Section title="Ledger" id="ledger-h">
      <SelectField
        name="ledgerKind"
        label="Show"
        value={kind}
        onValue={setKind}
        options={[{ value: "", label: "Every entry" }, ...KINDS.map((k) => ({ value: k, label: humanize(k) }))]}
      />
      <PagedTable
        page={page}
        noun="entries"
        label="Ledger entries"
        rowKey={(e) => e.id}
        columns={[
          { header: "When", cell: (e) => <Time value={e.createdAt} /> },
          { header: "What", cell: (e) => humanize(e.kind) },
          {
            header: "Detail",
            cell: (e) => (
              <>
                {e.lead ? (
                  <Link to={idPath("leads", e.lead.id)}>
                    {e.lead.firstName} {e.lead.lastName}
                  </Link>
                ) : (
                  e.payment?.methodLabel ?? ""
                )}{" "}
                {e.memo && <span class="muted">{e.memo}</span>}
              </>
            ),
          },
          { header: "Amount", num: true, cell: (e) => <Money value={e.amount} /> },
          { header: "Credits", num: true, cell: (e) => (e.creditAmount.amountMinor ? <Money value={e.creditAmount} /> : "") },
        ]}
      />
    </Section>
  );
}

function Payments() {
  const page = usePaged(PaymentsDoc, {}, (d) => d.viewer?.account.money?.payments, 10);
  return (
    <Section title="Payments" id="payments-h">
      <PagedTable
        page={page}
        noun="payments"
        label="Payments"
        rowKey={(p) => p.id}
        columns={[
          { header: "When", cell: (p) => <Time value={p.createdAt} /> },
          {
            header: "How",
            cell: (p) => (
              <>
                {p.methodLabel} <span class="muted">({humanize(p.purpose)})</span>
              </>
            ),
          },
          {
            header: "Status",
            cell: (p) => (
              <>
                <Badge kind={p.status === "SUCCEEDED" ? "good" : p.status === "FAILED" ? "bad" : "warn"}>{humanize(p.status)}</Badge>{" "}
                {p.failureMessage && <span class="muted">{p.failureMessage}</span>}
              </>
            ),
          },
          { header: "Amount", num: true, cell: (p) => <Money value={p.amount} /> },
        ]}
      />
    </Section>
  );
}

const LedgerCheckDoc = graphql(`
  query LedgerCheck {
    ledgerCheck {
      ok
      accountsChecked
      problems {
        accountId
        accountName
        description
        balance {
          amountMinor
          currency
        }
        ledgerSum {
          amountMinor
          currency
        }
        credits {
          amountMinor
          currency
        }
        creditSum {
          amountMinor
          currency
        }
      }
    }
  }
`);

type Check = import("../gql/graphql").LedgerCheckQuery["ledgerCheck"];

/** Operator: every account's balance against the sum of its ledger (one consistent read). */
export function LedgerCheck() {
  const [result, setResult] = useState<{ check: Check; at: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setResult({ check: (await request(LedgerCheckDoc)).ledgerCheck, at: new Date().toISOString() });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <PageTitle>Ledger check</PageTitle>
      <p class="muted">
        Checks every account: its balance is the sum of its ledger entries and never below zero, and its credits are the sum of its entries'
        credit parts.
      </p>
      <button type="button" class="primary" disabled={busy} aria-busy={busy ? "true" : undefined} onClick={() => void run()}>
        {busy ? "Checking every account…" : "Check every account"}
      </button>
      {busy && <Loading label="Checking every account…" />}
      {error && <ErrorBox message={error} retry={() => void run()} />}
      {result && (
        <div class="check-result">
          {result.check.ok ? (
            <Notice kind="success">
              All {result.check.accountsChecked} accounts add up (checked <Time value={result.at} />).
            </Notice>
          ) : (
            <>
              <Notice kind="warning">
                {result.check.problems.length} of {result.check.accountsChecked} accounts do not add up (checked <Time value={result.at} />).
              </Notice>
              <TableWrap label="Ledger problems">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Account</th>
                      <th scope="col">Problem</th>
                      <th scope="col" class="num">
                        Balance
                      </th>
                      <th scope="col" class="num">
                        Ledger sum
                      </th>
                      <th scope="col" class="num">
                        Credits
                      </th>
                      <th scope="col" class="num">
                        Credit sum
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {result.check.problems.map((p) => (
                      <tr key={p.accountId}>
                        <td>{p.accountName}</td>
                        <td>{p.description}</td>
                        <td class="num">
                          <Money value={p.balance} />
                        </td>
                        <td class="num">
                          <Money value={p.ledgerSum} />
                        </td>
                        <td class="num">
                          <Money value={p.credits} />
                        </td>
                        <td class="num">
                          <Money value={p.creditSum} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            </>
          )}
        </div>
      )}
    </>
  );
}
