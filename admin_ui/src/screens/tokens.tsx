import { useState } from "preact/hooks";
import { request } from "../api";
import { graphql } from "../gql";
import { useForm, useQuery } from "../hooks";
import { Badge, ErrorBox, Loading, OneTimeSecret, PageTitle, Section, TableWrap, Time } from "../ui/common";
import { ErrorSummary, Submit, TextField } from "../ui/forms";

const TokensDoc = graphql(`
  query ApiTokens {
    apiTokens {
      id
      name
      prefix
      createdAt
      expiresAt
      revokedAt
      lastUsedAt
    }
  }
`);

const CreateTokenDoc = graphql(`
  mutation CreateApiToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) {
      token
      apiToken {
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

const RevokeTokenDoc = graphql(`
  mutation RevokeApiToken($input: RevokeApiTokenInput!) {
    revokeApiToken(input: $input) {
      apiToken {
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

export function Tokens() {
  const q = useQuery(TokensDoc, {});
  const [name, setName] = useState("");
  const [expires, setExpires] = useState("");
  const [secret, setSecret] = useState<string | null>(null);
  const create = useForm();
  const revoke = useForm();
  return (
    <>
      <PageTitle>API tokens</PageTitle>
      <p>
        A personal API token lets your own software use the Leadwire GraphQL API as you, in this account. Send it as{" "}
        <code>Authorization: Bearer …</code>.
      </p>
      <Section title="Create a token" id="new-token-h">
        <ErrorSummary errors={create.errors} />
        {secret && <OneTimeSecret label="Your new token." value={secret} />}
        <form
          noValidate
          class="inline-form"
          onSubmit={async (e) => {
            e.preventDefault();
            setSecret(null);
            let token: string | null = null;
            const expiresAt = expires ? new Date(`${expires}T23:59:59`).toISOString() : null;
            const ok = await create.submit(async () => {
              const r = (await request(CreateTokenDoc, { input: { name, expiresAt } })).createApiToken;
              token = r.token ?? null;
              return r;
            });
            if (ok) {
              setSecret(token);
              setName("");
              setExpires("");
              await q.reload();
            }
          }}
        >
          <TextField name="name" label="Name" hint="What the token is for, e.g. our CRM sync." value={name} onValue={setName} errors={create.errors} />
          <TextField name="expiresAt" label="Expires (optional)" type="date" value={expires} onValue={setExpires} errors={create.errors} />
          <Submit busy={create.busy} busyLabel="Creating…">
            Create token
          </Submit>
        </form>
      </Section>
      <Section title="Your tokens" id="tokens-h">
        <ErrorSummary errors={revoke.errors} />
        {q.error && <ErrorBox message={q.error} retry={q.reload} />}
        {q.loading && !q.data && <Loading />}
        {q.data && q.data.apiTokens.length === 0 && <p class="empty">No tokens yet.</p>}
        {q.data && q.data.apiTokens.length > 0 && (
          <TableWrap label="API tokens">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Starts with</th>
                  <th scope="col">Created</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {q.data.apiTokens.map((t) => (
                  <tr key={t.id}>
                    <td>{t.name}</td>
                    <td>
                      <code>{t.prefix}…</code>
                    </td>
                    <td>
                      <Time value={t.createdAt} />
                    </td>
                    <td>{t.expiresAt ? <Time value={t.expiresAt} /> : "Never"}</td>
                    <td>{t.lastUsedAt ? <Time value={t.lastUsedAt} /> : "Never"}</td>
                    <td>{t.revokedAt ? <Badge kind="bad">Revoked</Badge> : <Badge kind="good">Active</Badge>}</td>
                    <td>
                      {!t.revokedAt && (
                        <button
                          type="button"
                          class="danger"
                          disabled={revoke.busy}
                          onClick={async () => {
                            if (!confirm(`Revoke the token “${t.name}”? Software using it stops working at once.`)) return;
                            const ok = await revoke.submit(async () => (await request(RevokeTokenDoc, { input: { id: t.id } })).revokeApiToken);
                            if (ok) await q.reload();
                          }}
                        >
                          Revoke<span class="visually-hidden"> {t.name}</span>
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </Section>
    </>
  );
}
