// Importing leads from a CSV file (owner, docs/workspace.md "Importing a file"):
// upload with progress, map columns, read the preview, map the file's people,
// import with progress.
import { useEffect, useState } from "preact/hooks";
import { request, uploadFile, type UserError } from "../api";
import { humanize } from "../format";
import { graphql } from "../gql";
import { useForm, usePaged, useQuery } from "../hooks";
import { idPath, Link, navigate } from "../router";
import { Badge, ErrorBox, Loading, Notice, PagedTable, PageTitle, Section, TableWrap, Time } from "../ui/common";
import { ErrorSummary, OtherErrors, SelectField, Submit, TextField } from "../ui/forms";

const ImportsDoc = graphql(`
  query LeadImports($first: Int, $after: String) {
    leadImports(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          fileName
          status
          totalRows
          importedCount
          createdAt
        }
      }
    }
  }
`);

const ImportDoc = graphql(`
  query LeadImport($id: ID!) {
    leadImportFields {
      name
      label
    }
    users(first: 100) {
      edges {
        node {
          id
          name
          barred
        }
      }
    }
    node(id: $id) {
      ... on LeadImport {
        id
        fileName
        sizeBytes
        status
        columns
        mapping
        totalRows
        rowsChecked
        invalidRows
        existingDuplicates
        rowsDone
        importedCount
        duplicateCount
        failure
        progress
        errors(first: 20) {
          totalCount
          edges {
            node {
              rowNumber
              column
              message
            }
          }
        }
        people {
          value
          rowCount
          user {
            id
            name
          }
        }
        preview(first: 5) {
          rowNumber
          values
          errors {
            column
            message
          }
        }
      }
    }
  }
`);

const MappingDoc = graphql(`
  mutation SetImportMapping($input: SetLeadImportMappingInput!) {
    setLeadImportMapping(input: $input) {
      leadImport {
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

const PeopleDoc = graphql(`
  mutation MapImportPeople($input: MapLeadImportPeopleInput!) {
    mapLeadImportPeople(input: $input) {
      leadImport {
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

const StartDoc = graphql(`
  mutation StartImport($input: LeadImportIdInput!) {
    startLeadImport(input: $input) {
      leadImport {
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

const CancelDoc = graphql(`
  mutation CancelImport($input: LeadImportIdInput!) {
    cancelLeadImport(input: $input) {
      leadImport {
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

const rows = (n: number) => `${n} ${n === 1 ? "row" : "rows"}`;

function Progress({ value, label }: { value: number; label: string }) {
  return (
    <div class="progress-row">
      <progress max={1} value={value} aria-label={label} />
      <span role="status">
        {label}: {Math.round(value * 100)} %
      </span>
    </div>
  );
}

export function Imports() {
  const page = usePaged(ImportsDoc, {}, (d) => d.leadImports, 10);
  const [busy, setBusy] = useState<number | null>(null);
  const [errors, setErrors] = useState<UserError[]>([]);
  return (
    <>
      <PageTitle>Import leads</PageTitle>
      <Section title="Upload a CSV file" id="upload-h">
        <p class="muted">A header row, then one lead per row; comma, semicolon or tab separated; UTF-8 or Windows-1252. Any number of rows.</p>
        <form
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            const input = (e.currentTarget as HTMLFormElement).elements.namedItem("file") as HTMLInputElement;
            const file = input.files?.[0];
            setErrors([]);
            if (!file) {
              setErrors([{ field: "file", code: "REQUIRED", message: "Choose a CSV file." }]);
              return;
            }
            setBusy(0);
            try {
              const r = await uploadFile<{ importId?: string; userErrors?: UserError[]; detail?: string }>("/workspace/imports", file, setBusy);
              if (r.status === 201 && r.body.importId) navigate(idPath("import", r.body.importId));
              else setErrors(r.body.userErrors ?? [{ field: "file", code: "ERROR", message: r.body.detail ?? `The server answered ${r.status}.` }]);
            } catch (err) {
              setErrors([{ field: "file", code: "NETWORK", message: (err as Error).message }]);
            } finally {
              setBusy(null);
            }
          }}
        >
          <div class={`field ${errors.length ? "has-error" : ""}`}>
            <label for="f-file">CSV file</label>
            {errors.map((x, i) => (
              <p class="field-error" id="f-file-error" key={i}>
                {x.message}
              </p>
            ))}
            <input type="file" id="f-file" name="file" accept=".csv,.txt,.tsv,text/csv" aria-invalid={errors.length ? "true" : undefined} aria-describedby={errors.length ? "f-file-error" : undefined} />
          </div>
          {busy !== null && <Progress value={busy} label="Uploading" />}
          <Submit busy={busy !== null} busyLabel="Uploading…">
            Upload
          </Submit>
        </form>
      </Section>
      <Section title="Imports" id="imports-h">
        <PagedTable
          page={page}
          noun="imports"
          label="Imports"
          rowKey={(i) => i.id}
          columns={[
            { header: "File", cell: (i) => <Link to={idPath("import", i.id)}>{i.fileName}</Link> },
            { header: "Status", cell: (i) => <StatusBadge status={i.status} /> },
            { header: "Rows", num: true, cell: (i) => i.totalRows },
            { header: "Imported", num: true, cell: (i) => i.importedCount },
            { header: "Uploaded", cell: (i) => <Time value={i.createdAt} /> },
          ]}
        />
      </Section>
    </>
  );
}

function StatusBadge({ status }: { status: string }) {
  const kind = status === "DONE" || status === "VALIDATED" ? "good" : status === "FAILED" || status === "CANCELLED" ? "bad" : "warn";
  return <Badge kind={kind}>{humanize(status)}</Badge>;
}

export function ImportPage({ id }: { id: string }) {
  const q = useQuery(ImportDoc, { id });
  const imp = q.data?.node && "columns" in q.data.node ? q.data.node : null;
  const running = imp && (imp.status === "VALIDATING" || imp.status === "IMPORTING");
  // A long operation: follow its progress until it is done.
  useEffect(() => {
    if (!running) return;
    const t = setTimeout(() => void q.reload(), 700);
    return () => clearTimeout(t);
  }, [running, imp?.progress, imp?.rowsChecked, imp?.rowsDone]);
  if (q.error) return <ErrorBox message={q.error} retry={q.reload} />;
  if (!q.data) return <Loading />;
  if (!imp)
    return (
      <>
        <PageTitle>Import not found</PageTitle>
        <Link to="/import">All imports</Link>
      </>
    );
  const users = q.data.users.edges.map((e) => e.node).filter((u) => !u.barred);
  return (
    <>
      <p class="breadcrumb">
        <Link to="/import">Imports</Link>
      </p>
      <PageTitle>{imp.fileName}</PageTitle>
      <p>
        <StatusBadge status={imp.status} /> {imp.totalRows} rows · {Math.ceil(imp.sizeBytes / 1024)} kB
        {imp.failure && <span class="field-error"> {imp.failure}</span>}
      </p>
      {imp.status === "VALIDATING" && <Progress value={imp.progress} label="Checking every row" />}
      {imp.status === "IMPORTING" && <Progress value={imp.progress} label="Importing" />}
      {(imp.status === "UPLOADED" || imp.status === "VALIDATED") && (
        <MappingForm id={imp.id} columns={imp.columns} mapping={imp.mapping as Record<string, string>} fields={q.data.leadImportFields} onSaved={q.reload} />
      )}
      {imp.status !== "UPLOADED" && imp.status !== "VALIDATING" && (
        <Section title="What the file holds" id="check-h">
          <p>
            {rows(imp.invalidRows)} with errors (skipped) · {rows(imp.existingDuplicates)} already in your account (skipped)
          </p>
          {imp.errors.edges.length > 0 && (
            <TableWrap label="Row errors">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Row</th>
                    <th scope="col">Column</th>
                    <th scope="col">Problem</th>
                  </tr>
                </thead>
                <tbody>
                  {imp.errors.edges.map(({ node: e }, i) => (
                    <tr key={i}>
                      <td>{e.rowNumber}</td>
                      <td>{e.column}</td>
                      <td>{e.message}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
          {imp.errors.totalCount > imp.errors.edges.length && <p class="muted">and {imp.errors.totalCount - imp.errors.edges.length} more.</p>}
          {imp.preview.length > 0 && (
            <TableWrap label="First rows">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Row</th>
                    {Object.keys(imp.preview[0].values as Record<string, unknown>).map((k) => (
                      <th scope="col" key={k}>
                        {humanize(k)}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {imp.preview.map((r) => (
                    <tr key={r.rowNumber}>
                      <td>{r.rowNumber}</td>
                      {Object.values(r.values as Record<string, unknown>).map((v, i) => (
                        <td key={i}>{String(v ?? "")}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </Section>
      )}
      {imp.status === "VALIDATED" && <PeopleAndStart id={imp.id} people={imp.people} users={users} onDone={q.reload} />}
      {(imp.status === "IMPORTING" || imp.status === "DONE" || imp.status === "CANCELLED") && (
        <Section title="Import" id="run-h">
          <p>
            {imp.rowsDone} of {imp.totalRows} rows done · {imp.importedCount} leads imported · {imp.duplicateCount} duplicates skipped
          </p>
          {imp.status === "DONE" && <Notice kind="success">Import finished: {imp.importedCount} leads are on your pipeline.</Notice>}
          {imp.status === "IMPORTING" && (
            <button type="button" class="danger" onClick={async () => void (await request(CancelDoc, { input: { importId: imp.id } }), q.reload())}>
              Stop the import
            </button>
          )}
        </Section>
      )}
    </>
  );
}

function MappingForm({
  id,
  columns,
  mapping,
  fields,
  onSaved,
}: {
  id: string;
  columns: string[];
  mapping: Record<string, string>;
  fields: { name: string; label: string }[];
  onSaved: () => Promise<void>;
}) {
  const form = useForm();
  const [map, setMap] = useState<Record<string, string>>(() => Object.fromEntries(columns.map((c) => [c, mapping[c] ?? ""])));
  const options = [{ value: "", label: "Ignore this column" }, ...fields.map((f) => ({ value: f.name, label: f.label }))];
  const custom = (c: string) => `data.${c.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "")}`;
  return (
    <Section title="Map the columns" id="map-h">
      <form
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          if (await form.submit(async () => (await request(MappingDoc, { input: { importId: id, mapping: map } })).setLeadImportMapping)) await onSaved();
        }}
      >
        <ErrorSummary errors={form.errors} />
        <div class="mapping-grid">
          {columns.map((c) => (
            <SelectField
              key={c}
              name={`mapping.${c}`}
              label={`Column “${c}”`}
              value={map[c]}
              onValue={(v) => setMap({ ...map, [c]: v })}
              errors={form.errors}
              options={[...options, ...(fields.some((f) => f.name === custom(c)) ? [] : [{ value: custom(c), label: `A field of my own (${custom(c)})` }])]}
            />
          ))}
        </div>
        <OtherErrors errors={form.errors} shown={columns.map((c) => `mapping.${c}`)} />
        <Submit busy={form.busy}>Check the rows</Submit>
      </form>
    </Section>
  );
}

function PeopleAndStart({
  id,
  people,
  users,
  onDone,
}: {
  id: string;
  people: { value: string; rowCount: number; user?: { id: string; name: string } | null }[];
  users: { id: string; name: string }[];
  onDone: () => Promise<void>;
}) {
  const form = useForm();
  const [map, setMap] = useState<Record<string, string>>(() => Object.fromEntries(people.map((p) => [p.value, p.user?.id ?? ""])));
  // "new": create a user on the spot for this person of the file.
  const [fresh, setFresh] = useState<Record<string, { name: string; email: string }>>({});
  const person = (p: { value: string }) =>
    map[p.value] === "new"
      ? { value: p.value, newUser: fresh[p.value] ?? { name: p.value, email: "" } }
      : { value: p.value, userId: map[p.value] || null };
  return (
    <Section title="People and start" id="people-h">
      <form
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          const ok = await form.submit(async () => {
            if (people.length) {
              const r = (await request(PeopleDoc, { input: { importId: id, people: people.map(person) } }))
                .mapLeadImportPeople;
              if (r.userErrors.length) return r;
            }
            return (await request(StartDoc, { input: { importId: id } })).startLeadImport;
          });
          if (ok) await onDone();
        }}
      >
        <ErrorSummary errors={form.errors} />
        {people.length > 0 ? (
          <div class="mapping-grid">
            {people.map((p, i) => {
              const nu = fresh[p.value] ?? { name: p.value, email: "" };
              const setNu = (patch: Partial<typeof nu>) => setFresh({ ...fresh, [p.value]: { ...nu, ...patch } });
              return (
                <div key={p.value}>
                  <SelectField
                    name={`people.${i}.userId`}
                    label={`“${p.value}” (${rows(p.rowCount)})`}
                    value={map[p.value]}
                    onValue={(v) => setMap({ ...map, [p.value]: v })}
                    errors={form.errors}
                    options={[
                      { value: "", label: "Nobody: the assignment rules decide" },
                      ...users.map((u) => ({ value: u.id, label: u.name })),
                      { value: "new", label: "A new user…" },
                    ]}
                  />
                  {map[p.value] === "new" && (
                    <>
                      <TextField name={`people.${i}.newUser.name`} label={`Name of the new user for “${p.value}”`} value={nu.name} onValue={(name) => setNu({ name })} errors={form.errors} />
                      <TextField name={`people.${i}.newUser.email`} label={`E-mail of the new user for “${p.value}”`} type="email" value={nu.email} onValue={(email) => setNu({ email })} errors={form.errors} />
                    </>
                  )}
                </div>
              );
            })}
          </div>
        ) : (
          <p class="muted">No column is mapped to the sales rep: the assignment rules give each lead its user.</p>
        )}
        <OtherErrors errors={form.errors} shown={people.flatMap((_, i) => [`people.${i}.userId`, `people.${i}.newUser.name`, `people.${i}.newUser.email`])} />
        <Submit busy={form.busy} busyLabel="Starting…">
          Import the leads
        </Submit>
      </form>
    </Section>
  );
}
