import { useEffect, useState } from "preact/hooks";
import { request } from "../api";
import { graphql } from "../gql";
import { useForm, useQuery } from "../hooks";
import { useSession } from "../session";
import { ErrorBox, Loading, Notice, PageTitle, Section } from "../ui/common";
import { ErrorSummary, Submit, TextAreaField, TextField } from "../ui/forms";

const AccountDoc = graphql(`
  query AccountSettings {
    viewer {
      account {
        id
        kind
        name
        currency
        phone
        website
        address
        approved
        createdAt
      }
    }
  }
`);

const UpdateCompanyDoc = graphql(`
  mutation UpdateCompanyInfo($input: UpdateCompanyInfoInput!) {
    updateCompanyInfo(input: $input) {
      account {
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

const UpdateAccountDoc = graphql(`
  mutation UpdateAccount($input: UpdateAccountInput!) {
    updateAccount(input: $input) {
      account {
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

export function AccountSettings() {
  const { isOperator, isOwner, refresh } = useSession();
  const q = useQuery(AccountDoc, {});
  const account = q.data?.viewer?.account;
  const [v, setV] = useState({ name: "", phone: "", website: "", address: "" });
  const [currency, setCurrency] = useState("");
  const [accountName, setAccountName] = useState("");
  useEffect(() => {
    if (account) {
      setV({ name: account.name, phone: account.phone, website: account.website, address: account.address });
      setCurrency(account.currency);
      setAccountName(account.name);
    }
  }, [account]);
  const company = useForm();
  const settings = useForm();
  const [saved, setSaved] = useState<string | null>(null);
  const set = (k: keyof typeof v) => (value: string) => setV({ ...v, [k]: value });

  return (
    <>
      <PageTitle>{isOperator ? "Account" : "Company"}</PageTitle>
      {q.error && <ErrorBox message={q.error} retry={q.reload} />}
      {!account && q.loading && <Loading />}
      {account && !isOwner && <Notice>Only the account owner can change these settings.</Notice>}
      {saved && <Notice kind="success">{saved}</Notice>}
      {account && !isOperator && (
        <Section title="Company info" id="company-h">
          <ErrorSummary errors={company.errors} />
          <form
            noValidate
            onSubmit={async (e) => {
              e.preventDefault();
              setSaved(null);
              const ok = await company.submit(async () => (await request(UpdateCompanyDoc, { input: v })).updateCompanyInfo);
              if (ok) {
                setSaved("Company info saved.");
                await Promise.all([q.reload(), refresh()]);
              }
            }}
          >
            <fieldset disabled={!isOwner}>
              <legend class="visually-hidden">Company info</legend>
              <TextField name="name" label="Company name" value={v.name} onValue={set("name")} errors={company.errors} autoComplete="organization" />
              <TextField name="phone" label="Phone" type="tel" value={v.phone} onValue={set("phone")} errors={company.errors} autoComplete="tel" />
              <TextField name="website" label="Website" type="url" value={v.website} onValue={set("website")} errors={company.errors} autoComplete="url" />
              <TextAreaField name="address" label="Address" rows={3} value={v.address} onValue={set("address")} errors={company.errors} autoComplete="street-address" />
              {isOwner && <Submit busy={company.busy}>Save company info</Submit>}
            </fieldset>
          </form>
        </Section>
      )}
      {account && (
        <Section title="Account settings" id="settings-h">
          <ErrorSummary errors={settings.errors} />
          <form
            noValidate
            onSubmit={async (e) => {
              e.preventDefault();
              setSaved(null);
              const input = isOperator ? { name: accountName, currency } : { currency };
              const ok = await settings.submit(async () => (await request(UpdateAccountDoc, { input })).updateAccount);
              if (ok) {
                setSaved("Account settings saved.");
                await Promise.all([q.reload(), refresh()]);
              }
            }}
          >
            <fieldset disabled={!isOwner}>
              <legend class="visually-hidden">Account settings</legend>
              {isOperator && <TextField name="name" label="Account name" value={accountName} onValue={setAccountName} errors={settings.errors} />}
              <TextField
                name="currency"
                label="Currency"
                hint="ISO 4217 code, e.g. USD. The account's own amounts are shown in it."
                value={currency}
                onValue={(c) => setCurrency(c.toUpperCase())}
                errors={settings.errors}
                maxLength={3}
                class="narrow"
              />
              {isOwner && <Submit busy={settings.busy}>Save settings</Submit>}
            </fieldset>
          </form>
        </Section>
      )}
    </>
  );
}
