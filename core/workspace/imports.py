"""Importing leads from a CSV file (seed 003: map the file's columns to lead
fields and its people to users, creating users on the spot).

1. **Upload** (:func:`upload`): the file is parsed as it is read (a spooled
   temporary file, never all in memory) and stored in the database as
   ``ImportChunk`` rows of ``CHUNK_ROWS`` parsed rows each, in one
   transaction. The database, not a local disk, holds it: a worker on any
   machine can read it, it is backed up with the rest, and chunks are read
   one at a time. They are deleted when the import ends. No row cap.
2. **Mapping and preview** (:func:`set_mapping`): the ``workspace_import_check``
   job checks every row with the mapping, chunk by chunk: errors by row and
   column, rows whose phone or e-mail is already a lead, and the distinct
   people of the assignee column (matched to users by e-mail or name when
   possible). The owner maps the people (:func:`map_people`), or creates
   users on the spot.
3. **Import** (:func:`start`): the ``workspace_import_run`` job inserts the
   valid rows chunk by chunk, skipping duplicates (same phone or e-mail as a
   lead of the account, or an earlier row), placing each lead on the
   pipeline (the file's stage, or the first one) and assigning it (the mapped
   user, or the assignment rules).

Each chunk is one transaction that also advances the import's progress with a
conditional update (``done_chunks = k -> k + 1``): a worker killed mid-chunk
leaves nothing of it, the job (retried by the outbox) resumes at the first
chunk not done, and a second copy of the job running at the same time fails
its update and writes nothing, so no row is imported twice. A job run handles
``SLICE_CHUNKS`` chunks and enqueues its own continuation, so no run outlives
the outbox's lease, however large the file.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from leadwire.core import identity
from leadwire.core.access import Viewer, require_owner, visible_memberships, workspace_rows
from leadwire.core.errors import DomainError, ErrorCode, FieldError, not_found
from leadwire.core.identity import now
from leadwire.core.jobs import enqueue, job
from leadwire.core.models.identity import Account, Membership, Person
from leadwire.core.models.leads import Lead, LeadOrigin
from leadwire.core.models.workspace import (
    AssignmentMethod,
    ImportChunk,
    ImportPerson,
    ImportRowError,
    ImportStatus,
    LeadImport,
    PipelineStage,
    StageKind,
)
from leadwire.core.workspace import assignment, entry
from leadwire.core.workspace.contact import check_contact
from leadwire.core.workspace.pipeline import MAX_VALUE_MINOR
from leadwire.core.workspace.setup import ensure_workspace

CHUNK_ROWS = 500
SLICE_CHUNKS = 20  # chunks per job run (10,000 rows), then the job continues in a new one
MAX_FILE_BYTES = 500 * 1024 * 1024
MAX_COLUMNS = 200
MAX_CELL = 5000
MAX_PEOPLE = 500
SNIFF_BYTES = 64 * 1024
CHECK_JOB = "workspace_import_check"
RUN_JOB = "workspace_import_run"

LEAD_FIELDS = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name (split into first and last name)",
    "email": "E-mail",
    "phone": "Phone",
    "postal_code": "ZIP code",
    "city": "City",
    "state": "State",
    "value": "Deal value (e.g. 1,250.00, in the account's currency)",
    "stage": "Pipeline stage (by name; the first stage when empty)",
    "assignee": "Assigned user (the file's people, mapped to users)",
}
_DATA_FIELD = re.compile(r"^data\.[a-z][a-z0-9_]{0,59}$")
_SUGGEST = {
    "first_name": ("first name", "firstname", "first", "given name", "forename"),
    "last_name": ("last name", "lastname", "last", "surname", "family name"),
    "full_name": ("name", "full name", "fullname", "contact", "contact name"),
    "email": ("email", "e-mail", "email address", "e-mail address", "mail"),
    "phone": ("phone", "phone number", "telephone", "tel", "mobile", "cell", "phone 1"),
    "postal_code": ("zip", "zip code", "zipcode", "postal code", "postcode", "postal"),
    "city": ("city", "town"),
    "state": ("state", "province", "region"),
    "value": ("value", "amount", "deal value", "deal size", "revenue"),
    "stage": ("stage", "status", "pipeline stage"),
    "assignee": ("owner", "assignee", "assigned to", "sales rep", "rep", "user", "salesperson", "lead owner"),
}
# Currencies whose minor unit is not the hundredth (ISO 4217).
_EXPONENTS = {**dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND",
                               "VUV", "XAF", "XOF", "XPF"), 0),
              **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3)}


def minor_units(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


# -- upload -----------------------------------------------------------------------------------


def _suggest(columns: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        key = re.sub(r"[\s_]+", " ", column.strip().lower())
        for lead_field, names in _SUGGEST.items():
            if key in names and lead_field not in taken:
                mapping[column] = lead_field
                taken.add(lead_field)
                break
    if "full_name" in taken and ({"first_name", "last_name"} & taken):
        mapping = {c: f for c, f in mapping.items() if f != "full_name"}
    return mapping


def _header(cells: list[str]) -> list[str]:
    out: list[str] = []
    for i, cell in enumerate(cells):
        name = (cell or "").strip()[:200] or f"Column {i + 1}"
        base, n = name, 2
        while name in out:
            name, n = f"{base} ({n})", n + 1
        out.append(name)
    return out


class _Reader:
    """Rows of an uploaded file, read in batches off the event loop (a thread)."""

    def __init__(self, raw: IO[bytes], encoding: str):
        raw.seek(0)
        sample = raw.read(SNIFF_BYTES)
        raw.seek(0)
        text = codecs.decode(sample, encoding, errors="ignore")
        try:
            dialect: Any = csv.Sniffer().sniff(text, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        self.text = io.TextIOWrapper(raw, encoding=encoding, errors="replace" if encoding == "cp1252" else "strict",
                                     newline="")
        self.rows = csv.reader(self.text, delimiter=dialect.delimiter, quotechar='"', doublequote=True)
        self.number = 0  # records read (the header is record 1)

    def take(self, n: int) -> list[tuple[int, list[str]]]:
        out = []
        for cells in self.rows:
            self.number += 1
            if any("\x00" in c for c in cells):
                # Not text (a spreadsheet's binary format, or a damaged file); PostgreSQL
                # cannot store NUL characters either.
                raise csv.Error("it contains NUL characters: save it as CSV text (UTF-8)")
            if any(c.strip() for c in cells):
                out.append((self.number, cells))
                if len(out) >= n:
                    break
        return out

    def detach(self) -> None:
        self.text.detach()  # leave the caller's file open


async def upload(viewer: Viewer, *, file_name: str, file: IO[bytes]) -> LeadImport:
    """Store an uploaded CSV file (a binary, seekable file object) for import.
    Refused without a header row or with no data row."""
    require_owner(viewer, "import leads")
    file_name = (file_name or "leads.csv").strip()[-200:] or "leads.csv"
    file.seek(0, io.SEEK_END)
    size = file.tell()
    if size > MAX_FILE_BYTES:
        raise DomainError.single("file", ErrorCode.TOO_LONG, f"A file is at most {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    await ensure_workspace(viewer.account_id)
    file.seek(0)
    if file.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):  # "Unicode text" from Excel
        return await _store(viewer, file_name, file, size, "utf-16")
    try:
        return await _store(viewer, file_name, file, size, "utf-8-sig")
    except UnicodeDecodeError:  # not UTF-8: the usual spreadsheet export encoding
        return await _store(viewer, file_name, file, size, "cp1252")


async def _store(viewer: Viewer, file_name: str, file: IO[bytes], size: int, encoding: str) -> LeadImport:
    reader = _Reader(file, encoding)
    try:
        async with in_transaction() as conn:
            first = await asyncio.to_thread(reader.take, 1)
            if not first:
                raise DomainError.single("file", ErrorCode.INVALID, "The file is empty: it needs a header row and rows of leads.")
            columns = _header(first[0][1])
            if len(columns) > MAX_COLUMNS:
                raise DomainError.single("file", ErrorCode.INVALID, f"A file has at most {MAX_COLUMNS} columns.")
            imp = await LeadImport.create(
                account_id=viewer.account_id, created_by_id=viewer.membership_id, file_name=file_name, size_bytes=size,
                encoding="utf-8" if encoding == "utf-8-sig" else encoding, columns=columns, mapping=_suggest(columns),
                using_db=conn,
            )
            seq = total = 0
            while True:
                batch = await asyncio.to_thread(reader.take, CHUNK_ROWS)
                if not batch:
                    break
                rows = [[n, [c[:MAX_CELL] for c in cells[: len(columns)]]] for n, cells in batch]
                await ImportChunk.create(lead_import_id=imp.id, seq=seq, first_row=batch[0][0], rows=rows, using_db=conn)
                seq, total = seq + 1, total + len(batch)
            if not total:
                raise DomainError.single("file", ErrorCode.INVALID, "The file has a header row but no leads.")
            await LeadImport.filter(id=imp.id).using_db(conn).update(chunk_count=seq, total_rows=total)
    except csv.Error as exc:
        raise DomainError.single("file", ErrorCode.INVALID, f"Not a readable CSV file (row {reader.number + 1}): {exc}.") from None
    finally:
        reader.detach()
    return await LeadImport.get(id=imp.id)


# -- checking rows ------------------------------------------------------------------------------


@dataclass
class RowProblem:
    column: str
    field: str
    code: str
    message: str


@dataclass
class CheckedRow:
    row_number: int
    values: dict[str, Any]
    errors: list[RowProblem]
    person: str = ""  # the assignee column's value


@dataclass
class _Context:
    account_id: int
    columns: list[str]
    mapping: dict[str, str]
    exponent: int
    stages: dict[str, PipelineStage]  # folded name -> open stage
    closing_names: set[str]
    people: dict[str, int | None] = field(default_factory=dict)  # value -> membership id
    import_id: int = 0

    @classmethod
    async def load(cls, imp: LeadImport) -> _Context:
        account = await Account.get(id=imp.account_id)
        stages = await PipelineStage.filter(account_id=imp.account_id)
        return cls(
            account_id=imp.account_id, columns=imp.columns, mapping=imp.mapping, exponent=minor_units(account.currency),
            stages={s.name.casefold(): s for s in stages if s.kind == StageKind.OPEN},
            closing_names={s.name.casefold() for s in stages if s.kind == StageKind.CLOSING},
            import_id=imp.id,
        )

    def column_of(self, lead_field: str) -> str:
        return next((c for c, f in self.mapping.items() if f == lead_field), "")


def _money(text: str, exponent: int) -> int:
    cleaned = re.sub(r"[\s$€£¥,]", "", text)
    amount = Decimal(cleaned)
    if not amount.is_finite() or amount < 0:
        raise InvalidOperation
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise InvalidOperation
    return int(minor)


def check_row(ctx: _Context, row_number: int, cells: list[str]) -> CheckedRow:
    cell = {}
    for i, column in enumerate(ctx.columns):
        lead_field = ctx.mapping.get(column)
        if lead_field:
            cell[lead_field] = (cells[i] if i < len(cells) else "").strip()
    raw = {k: cell.get(k, "") for k in ("first_name", "last_name", "email", "phone", "postal_code", "city", "state")}
    if cell.get("full_name"):
        parts = cell["full_name"].split()
        raw["first_name"], raw["last_name"] = " ".join(parts[:-1]) or parts[0], parts[-1] if len(parts) > 1 else ""
    contact, field_errors = check_contact(raw)
    problems = []
    for e in field_errors:
        column = ctx.column_of(e.field)
        if not column and e.field in ("first_name", "last_name"):
            column = ctx.column_of("full_name")
        problems.append(RowProblem(column, e.field, e.code.name, e.message))
    value = 0
    if cell.get("value"):
        try:
            value = _money(cell["value"], ctx.exponent)
            if value > MAX_VALUE_MINOR:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            problems.append(RowProblem(ctx.column_of("value"), "value", "INVALID", f"Not an amount: {cell['value']!r}."))
    stage = None
    if cell.get("stage"):
        folded = cell["stage"].casefold()
        stage = ctx.stages.get(folded)
        if stage is None:
            message = (f"{cell['stage']!r} is the closing stage: import open leads only." if folded in ctx.closing_names
                       else f"No pipeline stage called {cell['stage']!r}.")
            problems.append(RowProblem(ctx.column_of("stage"), "stage", "INVALID", message))
    data = {f[5:]: v for f, v in cell.items() if f.startswith("data.") and v}
    values: dict[str, Any] = {k: v for k, v in vars(contact).items() if v}
    if value:
        values["value_minor"] = value
    if stage:
        values["stage"] = stage.name
    if data:
        values["data"] = data
    if cell.get("assignee"):
        values["assignee"] = cell["assignee"][:200]
    return CheckedRow(row_number, values, problems, person=cell.get("assignee", "")[:200])


_CONTACT_KEYS = ("first_name", "last_name", "email", "phone", "postal_code", "city", "state")


def lead_from(ctx: _Context, row_number: int, values: dict[str, Any]) -> Lead | None:
    """The lead a checked row makes (None when its stage has gone since the preview)."""
    stage_id = None
    if values.get("stage"):
        stage = ctx.stages.get(values["stage"].casefold())
        if stage is None:
            return None
        stage_id = stage.id
    return Lead(
        account_id=ctx.account_id, origin=LeadOrigin.IMPORT, value_minor=values.get("value_minor", 0),
        data=values.get("data", {}), stage_id=stage_id, idempotency_key=f"import:{ctx.import_id}:{row_number}",
        **{k: values.get(k, "") for k in _CONTACT_KEYS},
    )


async def _existing_people(account_id: int, rows: list[dict[str, Any]], conn=None) -> tuple[set[str], set[str]]:
    """Phones and e-mails among these checked rows that are already leads of the account."""
    phones = list({r["phone"] for r in rows if r.get("phone")})
    emails = list({r["email"] for r in rows if r.get("email")})
    if not phones and not emails:
        return set(), set()
    cond = Q(phone__in=phones) if phones else Q()
    if emails:
        cond = (cond | Q(email__in=emails)) if phones else Q(email__in=emails)
    rows = await Lead.filter(cond, account_id=account_id, deleted_at__isnull=True).using_db(conn).values_list("phone", "email")
    wanted_phones, wanted_emails = set(phones), set(emails)
    return {p for p, _ in rows if p in wanted_phones}, {e for _, e in rows if e and e in wanted_emails}


def _is_duplicate(values: dict[str, Any], phones: set[str], emails: set[str]) -> bool:
    return bool((values.get("phone") and values["phone"] in phones) or (values.get("email") and values["email"] in emails))


# -- mapping and preview (the owner) --------------------------------------------------------------


async def _import_of(viewer: Viewer, import_id: int | None) -> LeadImport:
    require_owner(viewer, "import leads")
    imp = await workspace_rows(viewer, LeadImport).get_or_none(id=import_id) if import_id else None
    if imp is None:
        raise not_found("import_id", "import")
    return imp


def _check_mapping(columns: list[str], mapping: dict[str, str]) -> dict[str, str]:
    errors: list[FieldError] = []
    clean: dict[str, str] = {}
    used: dict[str, str] = {}
    for column, lead_field in mapping.items():
        if column not in columns:
            errors.append(FieldError("mapping", ErrorCode.NOT_FOUND, f"The file has no column {column!r}."))
            continue
        lead_field = (lead_field or "").strip()
        if not lead_field:
            continue  # ignored column
        if lead_field not in LEAD_FIELDS and not _DATA_FIELD.match(lead_field):
            errors.append(FieldError("mapping", ErrorCode.INVALID,
                                     f"Column {column!r}: {lead_field!r} is not a lead field (see leadImportFields)."))
            continue
        if lead_field in used:
            errors.append(FieldError("mapping", ErrorCode.DUPLICATE,
                                     f"Columns {used[lead_field]!r} and {column!r} both map to {lead_field}."))
            continue
        used[lead_field] = column
        clean[column] = lead_field
    if "full_name" in used and ({"first_name", "last_name"} & set(used)):
        errors.append(FieldError("mapping", ErrorCode.INVALID, "Map either a full name or first and last names, not both."))
    if not errors and not ({"phone", "email"} & set(used)):
        errors.append(FieldError("mapping", ErrorCode.REQUIRED, "Map a phone or an e-mail column: a lead needs one."))
    if errors:
        raise DomainError(*errors)
    return clean


async def set_mapping(viewer: Viewer, import_id: int, mapping: dict[str, str]) -> LeadImport:
    """Map the file's columns to lead fields and check every row with it (the
    preview, a background job). Until the import starts it can be changed."""
    imp = await _import_of(viewer, import_id)
    clean = _check_mapping(imp.columns, mapping)
    async with in_transaction() as conn:
        changed = await LeadImport.filter(
            id=imp.id, status__in=[ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.VALIDATED]
        ).using_db(conn).update(
            mapping=clean, status=ImportStatus.VALIDATING, revision=F("revision") + 1, checked_chunks=0, rows_checked=0,
            invalid_rows=0, existing_duplicates=0, failure="",
        )
        if not changed:
            raise DomainError.single("import_id", ErrorCode.INVALID, f"This import is {imp.status.value}: its mapping is final.")
        await ImportRowError.filter(lead_import_id=imp.id).using_db(conn).delete()
        await ImportPerson.filter(lead_import_id=imp.id).using_db(conn).delete()
        imp = await LeadImport.get(id=imp.id).using_db(conn)
        await enqueue(CHECK_JOB, {"import_id": imp.id, "revision": imp.revision},
                      dedupe_key=f"{CHECK_JOB}:{imp.id}:{imp.revision}:0", using_db=conn)
    return imp


class _Stale(Exception):
    """Another run (or a new mapping) moved the import on: this chunk is not ours."""


@job(CHECK_JOB)
async def check_import(import_id: int, revision: int) -> None:
    """Check up to SLICE_CHUNKS chunks of an import's rows, then continue in a new job."""
    imp = await LeadImport.get_or_none(id=import_id)
    if imp is None or imp.revision != revision or imp.status != ImportStatus.VALIDATING:
        return
    ctx = await _Context.load(imp)
    for _ in range(SLICE_CHUNKS):
        imp = await LeadImport.get(id=import_id)
        if imp.revision != revision or imp.status != ImportStatus.VALIDATING:
            return
        k = imp.checked_chunks
        if k >= imp.chunk_count:
            await _finish_check(imp, revision)
            return
        chunk = await ImportChunk.get(lead_import_id=import_id, seq=k)
        checked = [check_row(ctx, n, cells) for n, cells in chunk.rows]
        valid = [c.values for c in checked if not c.errors]
        phones, emails = await _existing_people(imp.account_id, valid)
        duplicates = sum(1 for values in valid if _is_duplicate(values, phones, emails))
        people: dict[str, int] = {}
        for c in checked:
            if c.person:
                people[c.person] = people.get(c.person, 0) + 1
        try:
            async with in_transaction() as conn:
                advanced = await LeadImport.filter(id=import_id, revision=revision, checked_chunks=k).using_db(conn).update(
                    checked_chunks=k + 1, rows_checked=F("rows_checked") + len(checked),
                    invalid_rows=F("invalid_rows") + sum(1 for c in checked if c.errors),
                    existing_duplicates=F("existing_duplicates") + duplicates,
                )
                if not advanced:
                    raise _Stale
                await ImportChunk.filter(id=chunk.id).using_db(conn).update(
                    checked=[None if c.errors else c.values for c in checked], checked_revision=revision)
                await ImportRowError.bulk_create(
                    [ImportRowError(lead_import_id=import_id, row_number=c.row_number, column=p.column[:200],
                                    field=p.field[:60], code=p.code[:32], message=p.message[:300])
                     for c in checked for p in c.errors],
                    batch_size=500, using_db=conn,
                )
                if people:
                    await ImportPerson.bulk_create(
                        [ImportPerson(lead_import_id=import_id, value=v, row_count=0) for v in people],
                        ignore_conflicts=True, using_db=conn,
                    )
                    for value, n in people.items():
                        await ImportPerson.filter(lead_import_id=import_id, value=value).using_db(conn).update(
                            row_count=F("row_count") + n)
                    if await ImportPerson.filter(lead_import_id=import_id).using_db(conn).count() > MAX_PEOPLE:
                        raise _TooManyPeople
        except _Stale:
            return
        except _TooManyPeople:
            await LeadImport.filter(id=import_id, revision=revision).update(
                status=ImportStatus.UPLOADED,
                failure=f"The assignee column ({ctx.column_of('assignee')!r}) has more than {MAX_PEOPLE} different "
                        "values: map the column that names the users.",
            )
            return
    await enqueue(CHECK_JOB, {"import_id": import_id, "revision": revision},
                  dedupe_key=f"{CHECK_JOB}:{import_id}:{revision}:{k + 1}")


class _TooManyPeople(Exception):
    pass


async def _finish_check(imp: LeadImport, revision: int) -> None:
    """All rows checked: match the file's people to users by e-mail or name."""
    people = await ImportPerson.filter(lead_import_id=imp.id, membership_id__isnull=True)
    if people:
        users = await Membership.filter(account_id=imp.account_id, barred_at__isnull=True).select_related("person")
        by_key: dict[str, int] = {}
        for m in users:
            by_key.setdefault(m.person.email.casefold(), m.id)
            by_key.setdefault(m.person.name.casefold(), m.id)
        for p in people:
            match = by_key.get(p.value.strip().casefold())
            if match:
                await ImportPerson.filter(id=p.id).update(membership_id=match)
    await LeadImport.filter(id=imp.id, revision=revision, status=ImportStatus.VALIDATING).update(status=ImportStatus.VALIDATED)


@dataclass
class PersonMapping:
    value: str
    user_id: int | None = None  # None and no new user: the assignment rules decide
    new_user_name: str | None = None
    new_user_email: str | None = None


async def map_people(viewer: Viewer, import_id: int, people: list[PersonMapping]) -> LeadImport:
    """Map the file's people to users; a new user is created on the spot (the
    owner adds users, seed 003). Everything is checked before anything is written."""
    imp = await _import_of(viewer, import_id)
    if imp.status not in (ImportStatus.VALIDATING, ImportStatus.VALIDATED):
        raise DomainError.single("import_id", ErrorCode.INVALID, "People are mapped after the preview, before the import.")
    known = {p.value: p for p in await ImportPerson.filter(lead_import_id=imp.id)}
    errors: list[FieldError] = []
    users = {m.id: m for m in await visible_memberships(viewer).filter(
        id__in=[p.user_id for p in people if p.user_id])}
    new_emails: dict[int, str] = {}
    for i, p in enumerate(people):
        if p.value not in known:
            errors.append(FieldError(f"people.{i}.value", ErrorCode.NOT_FOUND, f"The file names no {p.value!r}."))
        if p.user_id is not None and (p.new_user_email or p.new_user_name):
            errors.append(FieldError(f"people.{i}", ErrorCode.INVALID, "Either an existing user or a new one."))
        elif p.user_id is not None:
            m = users.get(p.user_id)
            if m is None:
                errors.append(FieldError(f"people.{i}.user_id", ErrorCode.NOT_FOUND, "No user with this id."))
            elif m.is_barred:
                errors.append(FieldError(f"people.{i}.user_id", ErrorCode.BARRED, "This user is barred."))
        elif p.new_user_email or p.new_user_name:
            try:
                new_emails[i] = identity.normalise_email(p.new_user_email or "", f"people.{i}.new_user.email")
                identity.check_name(p.new_user_name or "", f"people.{i}.new_user.name", "The name")
            except DomainError as exc:
                errors.extend(exc.errors)
    if len(set(new_emails.values())) != len(new_emails):
        errors.append(FieldError("people", ErrorCode.DUPLICATE, "The same new user is given twice."))
    for i, email in new_emails.items():
        person = await Person.get_or_none(email=email)
        if person and await Membership.exists(account_id=viewer.account_id, person_id=person.id):
            errors.append(FieldError(f"people.{i}.new_user.email", ErrorCode.DUPLICATE,
                                     "This person is already a user here: map them as an existing user."))
    if errors:
        raise DomainError(*errors)
    for i, p in enumerate(people):
        user_id = p.user_id
        if i in new_emails:
            m, _ = await identity.create_user(viewer, email=new_emails[i], name=p.new_user_name or "")
            user_id = m.id
        await ImportPerson.filter(lead_import_id=imp.id, value=p.value).update(membership_id=user_id)
    return imp


@dataclass
class PreviewRow:
    row_number: int
    values: dict[str, Any]
    errors: list[RowProblem]


async def preview_rows(viewer: Viewer, import_id: int, n: int) -> list[PreviewRow]:
    """The first ``n`` rows as the current mapping reads them."""
    imp = await _import_of(viewer, import_id)
    if imp.status in (ImportStatus.DONE, ImportStatus.CANCELLED):
        return []
    ctx = await _Context.load(imp)
    out: list[PreviewRow] = []
    async for chunk in ImportChunk.filter(lead_import_id=imp.id).order_by("seq"):
        for number, cells in chunk.rows:
            c = check_row(ctx, number, cells)
            out.append(PreviewRow(c.row_number, c.values, c.errors))
            if len(out) >= n:
                return out
    return out


# -- import -------------------------------------------------------------------------------


async def start(viewer: Viewer, import_id: int) -> LeadImport:
    """Import the checked file in the background (progress on the import)."""
    imp = await _import_of(viewer, import_id)
    async with in_transaction() as conn:
        started = await LeadImport.filter(id=imp.id, status=ImportStatus.VALIDATED).using_db(conn).update(
            status=ImportStatus.IMPORTING, started_at=now()
        )
        if not started:
            if imp.status in (ImportStatus.UPLOADED, ImportStatus.VALIDATING):
                raise DomainError.single("import_id", ErrorCode.INVALID, "Map the columns and wait for the preview first.")
            raise DomainError.single("import_id", ErrorCode.INVALID, f"This import is {imp.status.value} already.")
        await enqueue(RUN_JOB, {"import_id": imp.id}, dedupe_key=f"{RUN_JOB}:{imp.id}:0", using_db=conn)
    return await LeadImport.get(id=imp.id)


async def cancel(viewer: Viewer, import_id: int) -> LeadImport:
    """Stop an import (leads already imported stay) and drop the stored file."""
    imp = await _import_of(viewer, import_id)
    stopped = await LeadImport.filter(id=imp.id, status__in=[
        ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.VALIDATED, ImportStatus.IMPORTING,
    ]).update(status=ImportStatus.CANCELLED, finished_at=now())
    if not stopped:
        raise DomainError.single("import_id", ErrorCode.INVALID, f"This import is {imp.status.value} already.")
    await ImportChunk.filter(lead_import_id=imp.id).delete()
    return await LeadImport.get(id=imp.id)


@job(RUN_JOB)
async def run_import(import_id: int) -> None:
    """Import up to SLICE_CHUNKS chunks, then continue in a new job."""
    imp = await LeadImport.get_or_none(id=import_id)
    if imp is None or imp.status != ImportStatus.IMPORTING:
        return
    ctx = await _Context.load(imp)
    barred = set(await Membership.filter(account_id=imp.account_id, barred_at__isnull=False).values_list("id", flat=True))
    ctx.people = {p.value: (p.membership_id if p.membership_id not in barred else None)
                  for p in await ImportPerson.filter(lead_import_id=import_id)}
    for _ in range(SLICE_CHUNKS):
        imp = await LeadImport.get(id=import_id)
        if imp.status != ImportStatus.IMPORTING:
            return
        k = imp.done_chunks
        if k >= imp.chunk_count:
            await LeadImport.filter(id=import_id, status=ImportStatus.IMPORTING).update(
                status=ImportStatus.DONE, finished_at=now())
            await ImportChunk.filter(lead_import_id=import_id).delete()
            return
        chunk = await ImportChunk.get(lead_import_id=import_id, seq=k)
        if chunk.checked_revision == imp.revision and chunk.checked is not None:
            values = chunk.checked  # as the preview checked them
        else:
            values = [None if c.errors else c.values for c in (check_row(ctx, n, cells) for n, cells in chunk.rows)]
        numbers = [n for n, _ in chunk.rows]
        at = now()
        try:
            async with in_transaction() as conn:
                # The chunk is ours only if the progress is still where we read it.
                advanced = await LeadImport.filter(id=import_id, status=ImportStatus.IMPORTING, done_chunks=k).using_db(
                    conn).update(done_chunks=k + 1, rows_done=F("rows_done") + len(values))
                if not advanced:
                    raise _Stale
                valid = [(n, v) for n, v in zip(numbers, values) if v is not None]
                phones, emails = await _existing_people(imp.account_id, [v for _, v in valid], conn)
                new: list[Lead] = []
                duplicates = invalid = 0
                for number, v in valid:
                    if _is_duplicate(v, phones, emails):
                        duplicates += 1
                        continue
                    lead = lead_from(ctx, number, v)
                    if lead is None:
                        invalid += 1
                        continue
                    if lead.phone:
                        phones.add(lead.phone)  # a later row of the file with the same phone is a duplicate
                    if lead.email:
                        emails.add(lead.email)
                    user_id = ctx.people.get(v["assignee"]) if v.get("assignee") else None
                    if user_id is not None:
                        assignment.apply_to(lead, assignment.Decision(user_id, AssignmentMethod.IMPORT, None, False), at)
                    new.append(lead)
                await entry.place(imp.account_id, new, conn, at)
                await Lead.bulk_create(new, batch_size=250, using_db=conn)
                await LeadImport.filter(id=import_id).using_db(conn).update(
                    imported_count=F("imported_count") + len(new),
                    duplicate_count=F("duplicate_count") + duplicates,
                    skipped_invalid=F("skipped_invalid") + (len(values) - len(valid) + invalid),
                )
        except _Stale:
            return
    await enqueue(RUN_JOB, {"import_id": import_id}, dedupe_key=f"{RUN_JOB}:{import_id}:{k + 1}")


async def imports(viewer: Viewer):
    require_owner(viewer, "import leads")
    return workspace_rows(viewer, LeadImport)
