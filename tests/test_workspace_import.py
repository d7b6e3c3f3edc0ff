"""Importing leads from a CSV file (seed 003) through the upload endpoint and the
API: the preview's errors by row and column, mapping the file's people to users
(creating one on the spot), the background import with its progress,
duplicates skipped, leads placed on the pipeline and assigned; a worker dying
mid-import and a second copy of the job losing or doubling nothing; and a
100,000-row file imported with bounded memory."""

import asyncio
import csv
import io
import json
import sys
import time
from pathlib import Path

import pytest

from leadwire.core import auth
from leadwire.core.jobs.models import OutboxJob
from leadwire.core.models.identity import Membership
from leadwire.core.models.leads import Lead, LeadOrigin
from leadwire.core.models.workspace import ImportChunk, ImportStatus, LeadImport
from leadwire.core.workspace import entry, imports

from workspace import ERRORS, Team, gid, pk, run_jobs

IMPORT = """query($id: ID!) { node(id: $id) { ... on LeadImport { id status fileName columns mapping totalRows rowsChecked
  invalidRows existingDuplicates rowsDone importedCount duplicateCount progress
  errors(first: 50) { totalCount edges { node { rowNumber column field code message } } }
  people { value rowCount user { id name } }
  preview(first: 3) { rowNumber values errors { column code } } } } }"""
MAPPING = f"mutation($i: SetLeadImportMappingInput!) {{ setLeadImportMapping(input: $i) {{ leadImport {{ status }} {ERRORS} }} }}"
PEOPLE = f"mutation($i: MapLeadImportPeopleInput!) {{ mapLeadImportPeople(input: $i) {{ leadImport {{ people {{ value user {{ name }} }} }} {ERRORS} }} }}"
START = f"mutation($i: LeadImportIdInput!) {{ startLeadImport(input: $i) {{ leadImport {{ status }} {ERRORS} }} }}"
CHECKS, RUNS = imports.CHECK_JOB, imports.RUN_JOB
HERE = Path(__file__).resolve().parent
AREA_CODES = (313, 734, 248, 586, 810, 517, 616, 269, 989, 231)  # 10 x 10,000 distinct valid numbers

HEADER = ["Full Name", "E-mail", "Phone", "Zip", "Deal value", "Stage", "Sales rep", "Budget"]
ROWS = [
    ["Ana Lopez", "ana@example.com", "313-555-0101", "48104", "1,250.50", "Opportunity", "Tia", "5000"],  # row 2
    ["Ben Ortiz", "ben@example", "313-555-0102", "48104", "", "", "Tia", ""],  # 3: bad e-mail
    ["Cy Young", "cy@example.com", "nope", "99999", "abc", "Closing time", "", ""],  # 4: phone, zip, value, stage
    ["Dee Park", "", "", "48165", "", "", "New Person", ""],  # 5: no way to contact
    ["Eve Adams", "eve@example.com", "313-555-0105", "48165", "300", "", "New Person", ""],  # 6
    ["Existing Lead", "", "313-555-0999", "", "", "", "", ""],  # 7: already a lead of the account
    ["Eve Again", "EVE@example.com", "313-555-0177", "", "", "", "", ""],  # 8: same e-mail as row 6
    ["Fay Wong", "fay@example.com", "", "", "", "new lead", "", ""],  # 9: no person: the rules decide
]


def csv_bytes(header, rows, delimiter=",") -> bytes:
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter)
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
async def team(client_factory, db):
    t = await Team().setup(client_factory)
    # Tia is a user (matched by name); an existing lead has the phone of row 7.
    await Membership.filter(id=t.rep.id).select_related("person")
    from leadwire.core.models.identity import Person

    await Person.filter(id=(await Membership.get(id=t.rep.id)).person_id).update(name="Tia")
    await t.lead(t.rep, phone="+13135550999")
    return t


async def upload(client, body: bytes, name="leads.csv"):
    r = await client.http.post("/workspace/imports", files={"file": (name, body, "text/csv")},
                               headers={"x-csrf-token": client.csrf or ""})
    return r


async def test_an_import_with_bad_rows_preview_people_progress_and_duplicates(team, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 3)  # small chunks, to watch the progress move
    monkeypatch.setattr(imports, "SLICE_CHUNKS", 1)
    c = team.c_owner
    r = await upload(c, csv_bytes(HEADER, ROWS))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "UPLOADED" and body["totalRows"] == 8 and body["columns"] == HEADER
    assert body["mapping"] == {"Full Name": "full_name", "E-mail": "email", "Phone": "phone", "Zip": "postal_code",
                               "Deal value": "value", "Stage": "stage", "Sales rep": "assignee"}
    import_id = body["importId"]

    bad = await c.data(MAPPING, {"i": {"importId": import_id, "mapping": {"Nope": "email", "Zip": "shoe_size"}}})
    assert {e["code"] for e in bad["setLeadImportMapping"]["userErrors"]} == {"NOT_FOUND", "INVALID"}
    no_contact = await c.data(MAPPING, {"i": {"importId": import_id, "mapping": {"Full Name": "full_name"}}})
    assert no_contact["setLeadImportMapping"]["userErrors"][0]["code"] == "REQUIRED"
    mapping = {**body["mapping"], "Budget": "data.budget"}
    ok = await c.data(MAPPING, {"i": {"importId": import_id, "mapping": mapping}})
    assert ok["setLeadImportMapping"]["leadImport"]["status"] == "VALIDATING"
    # The preview is a background job, chunk by chunk: progress moves.
    await run_jobs(CHECKS, limit=1)
    mid = (await c.data(IMPORT, {"id": import_id}))["node"]
    assert (mid["status"], mid["rowsChecked"], mid["progress"]) == ("VALIDATING", 3, 0.375)
    await run_jobs(CHECKS)
    imp = (await c.data(IMPORT, {"id": import_id}))["node"]
    assert imp["status"] == "VALIDATED" and imp["rowsChecked"] == 8 and imp["progress"] == 1
    assert imp["invalidRows"] == 3 and imp["existingDuplicates"] == 1
    errors = [(e["node"]["rowNumber"], e["node"]["column"], e["node"]["field"], e["node"]["code"])
              for e in imp["errors"]["edges"]]
    assert sorted(errors) == [
        (3, "E-mail", "email", "INVALID"),
        (4, "Deal value", "value", "INVALID"), (4, "Phone", "phone", "INVALID"), (4, "Stage", "stage", "INVALID"),
        (4, "Zip", "postal_code", "INVALID"),
        (5, "Phone", "phone", "REQUIRED"),
    ]
    assert imp["errors"]["totalCount"] == 6
    assert {p["value"]: (p["rowCount"], p["user"] and p["user"]["name"]) for p in imp["people"]} == {
        "Tia": (2, "Tia"), "New Person": (2, None)}  # Tia matched by name
    first = imp["preview"][0]
    assert first["rowNumber"] == 2 and first["errors"] == []
    assert first["values"] == {"first_name": "Ana", "last_name": "Lopez", "email": "ana@example.com", "phone": "+13135550101",
                               "postal_code": "48104", "city": "Ann Arbor", "state": "MI", "value_minor": 125050,
                               "stage": "Opportunity", "assignee": "Tia", "data": {"budget": "5000"}}

    # People: create "New Person" on the spot (seed 003); a bad e-mail is refused by field, nothing created.
    refused = await c.data(PEOPLE, {"i": {"importId": import_id, "people": [
        {"value": "New Person", "newUser": {"name": "Nia Person", "email": "not-an-email"}}]}})
    assert refused["mapLeadImportPeople"]["userErrors"][0]["field"] == "people.0.newUser.email"
    mapped = await c.data(PEOPLE, {"i": {"importId": import_id, "people": [
        {"value": "New Person", "newUser": {"name": "Nia Person", "email": "nia@acme.example"}}]}})
    assert {p["value"]: p["user"]["name"] for p in mapped["mapLeadImportPeople"]["leadImport"]["people"]} == {
        "Tia": "Tia", "New Person": "Nia Person"}
    nia = await Membership.get(account_id=team.account.id, person__email="nia@acme.example")
    by_rep = await team.c_rep.data(START, {"i": {"importId": import_id}})
    assert by_rep["startLeadImport"]["userErrors"][0]["code"] == "OWNER_REQUIRED"

    # A rule for the rows naming nobody.
    await c.data(f"mutation($i: CreateAssignmentRuleInput!) {{ createAssignmentRule(input: $i) {{ {ERRORS} }} }}",
                 {"i": {"name": "Imports", "method": "SINGLE", "userIds": [gid("User", team.peer.id)]}})
    started = await c.data(START, {"i": {"importId": import_id}})
    assert started["startLeadImport"]["leadImport"]["status"] == "IMPORTING"
    await run_jobs(RUNS, limit=1)
    mid = (await c.data(IMPORT, {"id": import_id}))["node"]
    assert (mid["rowsDone"], mid["progress"]) == (3, 0.375)
    await run_jobs(RUNS)
    done = (await c.data(IMPORT, {"id": import_id}))["node"]
    assert done["status"] == "DONE" and done["rowsDone"] == 8 and done["progress"] == 1
    assert (done["importedCount"], done["duplicateCount"]) == (3, 2)  # rows 2, 6, 9 in; 7 and 8 duplicates
    assert await ImportChunk.filter(lead_import_id=pk(import_id)).count() == 0  # the stored file is dropped

    got = {lead.first_name: lead for lead in await Lead.filter(account_id=team.account.id, origin=LeadOrigin.IMPORT)}
    assert set(got) == {"Ana", "Eve", "Fay"}
    stages = {s["name"]: pk(s["id"]) for s in await team.stages()}
    assert (got["Ana"].assignee_id, got["Ana"].stage_id, got["Ana"].value_minor) == (team.rep.id, stages["Opportunity"], 125050)
    assert got["Ana"].assignment_method == "import" and got["Ana"].data == {"budget": "5000"}
    assert (got["Eve"].assignee_id, got["Eve"].stage_id) == (nia.id, stages["New Lead"])
    assert (got["Fay"].assignee_id, got["Fay"].assignment_method) == (team.peer.id, "single")
    again = await c.data(START, {"i": {"importId": import_id}})
    assert again["startLeadImport"]["userErrors"][0]["code"] == "INVALID"


async def test_uploads_are_the_owners_and_checked(team, client_factory):
    r = await upload(team.c_rep, csv_bytes(HEADER, ROWS))
    assert r.status_code == 403 and r.json()["userErrors"][0]["code"] == "OWNER_REQUIRED"
    anonymous = await client_factory()
    assert (await anonymous.http.post("/workspace/imports", files={"file": ("a.csv", b"x")})).status_code == 401
    empty = await upload(team.c_owner, b"")
    assert empty.status_code == 422 and empty.json()["userErrors"][0]["field"] == "file"
    header_only = await upload(team.c_owner, b"Name,Phone\n")
    assert "no leads" in header_only.json()["userErrors"][0]["message"]
    raw = await team.c_owner.http.post("/workspace/imports", content=b"a,b", headers={"x-csrf-token": team.c_owner.csrf,
                                                                                        "content-type": "text/csv"})
    assert raw.status_code == 415
    # A bearer token works too; semicolons and Windows-1252 are understood.
    _, token = await auth.create_api_token(team.owner, name="import script")
    body = "Nom;Téléphone;Courriel\nZoë Ça;313-555-0142;zoe@example.com\n".encode("cp1252")
    r = await team.c_owner.http.post("/workspace/imports", files={"file": ("export.csv", body)},
                                     headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    assert r.json()["columns"] == ["Nom", "Téléphone", "Courriel"] and r.json()["totalRows"] == 1
    # Imports are the owner's, of their account only.
    assert (await team.c_rep.data("query($id: ID!) { node(id: $id) { id } }", {"id": r.json()["importId"]}))["node"] is None
    assert (await team.c_owner_b.data("query($id: ID!) { node(id: $id) { id } }", {"id": r.json()["importId"]}))["node"] is None
    listed = await team.c_owner.data("{ leadImports(first: 10) { totalCount edges { node { fileName } } } }")
    assert listed["leadImports"]["totalCount"] == 1


async def _prepared_import(team, rows: int) -> int:
    body = csv_bytes(["Name", "Phone", "Email"], [[f"P{i} Q", f"+1313555{i:04d}", f"p{i}@example.com"] for i in range(rows)])
    r = await upload(team.c_owner, body)
    import_id = r.json()["importId"]
    await team.c_owner.data(MAPPING, {"i": {"importId": import_id, "mapping": {"Name": "full_name", "Phone": "phone",
                                                                                  "Email": "email"}}})
    await run_jobs(CHECKS)
    await team.c_owner.data(START, {"i": {"importId": import_id}})
    return pk(import_id)


async def test_a_worker_dying_mid_import_loses_and_doubles_nothing(team, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 10)
    monkeypatch.setattr(imports, "SLICE_CHUNKS", 100)
    import_id = await _prepared_import(team, 95)
    calls = {"n": 0}
    real_place = entry.place

    async def dies_on_the_fourth_chunk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise ConnectionError("worker killed")  # mid-chunk: inside its transaction
        return await real_place(*args, **kwargs)

    monkeypatch.setattr(entry, "place", dies_on_the_fourth_chunk)
    await run_jobs(RUNS, limit=1)
    imp = await LeadImport.get(id=import_id)
    assert (imp.done_chunks, imp.imported_count) == (3, 30)
    assert await Lead.filter(origin=LeadOrigin.IMPORT).count() == 30  # chunk 4 left nothing behind
    [job] = await OutboxJob.filter(name=RUNS, status="pending")
    assert "worker killed" in job.last_error
    # Two copies of the job at once (a redelivered message): each chunk is taken once.
    await asyncio.gather(imports.run_import(import_id), imports.run_import(import_id))
    await run_jobs(RUNS)
    imp = await LeadImport.get(id=import_id)
    assert imp.status == ImportStatus.DONE and (imp.imported_count, imp.rows_done, imp.duplicate_count) == (95, 95, 0)
    phones = await Lead.filter(origin=LeadOrigin.IMPORT).values_list("phone", flat=True)
    assert len(phones) == len(set(phones)) == 95


@pytest.mark.slow
async def test_a_100000_row_file_streams_with_bounded_memory(tmp_path):
    """The file is never held in memory. In a separate process on a SQLite file
    (so the database is not in the process's memory): a 100,000-row, ~40 MB
    file goes through the upload endpoint (its tracemalloc peak), then the
    preview and the import jobs (the growth of the process's peak RSS); each
    stays far below the file's size."""
    rows = 100_000
    path = tmp_path / "big.csv"
    notes = "Wants a quote for a three-bedroom move; flexible on dates; has a piano and a garden shed. " * 3
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["First name", "Last name", "Phone", "E-mail", "City", "Notes"])
        for i in range(rows):
            w.writerow([f"First{i}", f"Last{i}", f"+1{AREA_CODES[i // 10_000]}555{i % 10_000:04d}",
                        f"lead{i}@example.com", "Ann Arbor", f"{i}: {notes}"])
    size = path.stat().st_size
    assert size > 30_000_000
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "import_memory.py"), str(tmp_path / "big.sqlite3"), str(path), str(rows), cwd=HERE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 600)
    assert proc.returncode == 0, err.decode()[-3000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    print(f"\n{rows} rows, {size / 1e6:.1f} MB: upload peak {report['upload_peak'] / 1e6:.1f} MB (tracemalloc), "
          f"preview + import peak RSS growth {report['rss_growth'] / 1e6:.1f} MB over {report['rss_before'] / 1e6:.0f} MB "
          f"(holding the rows: +{report['control_growth'] / 1e6:.0f} MB), {time.perf_counter() - t0:.0f} s")
    assert (report["status"], report["total_rows"], report["imported"], report["leads"]) == ("done", rows, rows, rows)
    assert report["upload_peak"] < size / 10, report
    assert report["rss_growth"] < size / 3, report
    assert report["control_growth"] > size, report  # the measure does see a file held in memory
