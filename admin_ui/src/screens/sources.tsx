import { useState } from "preact/hooks";
import { request } from "../api";
import { graphql } from "../gql";
import { useForm, useQuery } from "../hooks";
import { Badge, ErrorBox, Loading, Notice, OneTimeSecret, PageTitle, Section, TableWrap, Time } from "../ui/common";
import { ErrorSummary, Submit, TextField } from "../ui/forms";

const SourcesDoc = graphql(`
  query LeadSources {
    leadSources {
      id
      name
      createdAt
      disabledAt
      keys {
        id
        prefix
        createdAt
        revokedAt
        lastUsedAt
      }
    }
  }
`);

const CreateSourceDoc = graphql(`
  mutation CreateLeadSource($input: CreateLeadSourceInput!) {
    createLeadSource(input: $input) {
      leadSource {
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

const CreateKeyDoc = graphql(`
  mutation CreateLeadSourceKey($input: CreateLeadSourceKeyInput!) {
    createLeadSourceKey(input: $input) {
      apiKey
      key {
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

const RevokeKeyDoc = graphql(`
  mutation RevokeLeadSourceKey($input: RevokeLeadSourceKeyInput!) {
    revokeLeadSourceKey(input: $input) {
      key {
        id
        revokedAt
      }
      userErrors {
        field
        code
        message
      }
    }
  }
`);

export function Sources() {
  const q = useQuery(SourcesDoc, {});
  const [name, setName] = useState("");
  const create = useForm();
  const keys = useForm();
  const [secret, setSecret] = useState<{ source: string; key: string } | null>(null);
  const [done, setDone] = useState<string | null>(null);
  return (
    <>
      <PageTitle>Lead sources</PageTitle>
      <p>
        Sellers of leads to the marketplace (web forms, partner APIs, call centres). Each posts leads with its own API key
        through the <code>submitLead</code> mutation.
      </p>
      <Section title="Add a lead source" id="add-source-h">
        <ErrorSummary errors={create.errors} />
        <form
          class="inline-form"
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            setDone(null);
            if (await create.submit(async () => (await request(CreateSourceDoc, { input: { name } })).createLeadSource)) {
              setDone(`Lead source “${name}” added: issue it an API key below.`);
              setName("");
              await q.reload();
            }
          }}
        >
          <TextField name="name" label="Name" value={name} onValue={setName} errors={create.errors} />
          <Submit busy={create.busy} busyLabel="Adding…">
            Add source
          </Submit>
        </form>
      </Section>
      {done && <Notice kind="success">{done}</Notice>}
      {secret && <OneTimeSecret label={`New API key for ${secret.source}.`} value={secret.key} />}
      <ErrorSummary errors={keys.errors} />
      {q.error && <ErrorBox message={q.error} retry={q.reload} />}
      {q.loading && !q.data && <Loading />}
      {q.data?.leadSources.map((s) => (
        <Section key={s.id} title={s.name} id={`src-${s.id.replace(/[^A-Za-z0-9]/g, "")}`}>
          <p class="muted small">
            Added <Time value={s.createdAt} />
            {s.disabledAt && (
              <>
                {" "}
                · <Badge kind="bad">Disabled</Badge>
              </>
            )}
          </p>
          {s.keys.length > 0 && (
            <TableWrap label={`API keys of ${s.name}`}>
              <table class="compact">
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col">Issued</th>
                    <th scope="col">Last used</th>
                    <th scope="col">State</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {s.keys.map((k) => (
                    <tr key={k.id}>
                      <td>
                        <code>{k.prefix}…</code>
                      </td>
                      <td>
                        <Time value={k.createdAt} />
                      </td>
                      <td>{k.lastUsedAt ? <Time value={k.lastUsedAt} /> : "Never"}</td>
                      <td>{k.revokedAt ? <Badge kind="bad">Revoked</Badge> : <Badge kind="good">Active</Badge>}</td>
                      <td>
                        {!k.revokedAt && (
                          <button
                            type="button"
                            class="danger"
                            disabled={keys.busy}
                            onClick={async () => {
                              if (!confirm(`Revoke the key ${k.prefix}… of ${s.name}? Leads posted with it are refused from now on.`)) return;
                              setDone(null);
                              if (await keys.submit(async () => (await request(RevokeKeyDoc, { input: { id: k.id } })).revokeLeadSourceKey)) await q.reload();
                            }}
                          >
                            Revoke<span class="visually-hidden"> key {k.prefix}</span>
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
          <button
            type="button"
            disabled={keys.busy}
            onClick={async () => {
              setSecret(null);
              setDone(null);
              let key: string | null = null;
              const ok = await keys.submit(async () => {
                const r = (await request(CreateKeyDoc, { input: { leadSourceId: s.id } })).createLeadSourceKey;
                key = r.apiKey ?? null;
                return r;
              });
              if (ok && key) {
                setSecret({ source: s.name, key });
                await q.reload();
                window.scrollTo({ top: 0 });
              }
            }}
          >
            Issue an API key<span class="visually-hidden"> for {s.name}</span>
          </button>
        </Section>
      ))}
    </>
  );
}
