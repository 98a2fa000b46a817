"""Identity resolution on the cases that break naive joins: case and spacing, id-only
respondents, chains, handle-only authors, a shared household phone, junk identifiers."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from cx_warehouse.ingest.loader import ensure_schema
from cx_warehouse.ingest.sources import load_sources
from cx_warehouse.transform.dbt import DBT_DIR, dbt_env
from cx_warehouse.warehouse.connection import connect

CUSTOMERS = [  # customer_id, email, phone, social_handle
    ("C1", "Ann.Li@Mail.CN ", None, None),
    ("C2", None, None, None),
    ("C3", None, None, None),
    ("C4", None, None, "li_hua"),
    ("C5", None, "+86 138 0000 0001", None),   # C5 and C6 share a household phone
    ("C6", None, "138-0000-0001", None),
    ("C7", "test@example.com", "000000", None),
]
RESPONSES = [  # response_id, email, customer_id
    ("R1", "  ann.li@mail.cn", None),           # case and spacing -> C1
    ("R2", None, "C2"),                         # id only -> C2
    ("R3", "bob@x.com", "C3"),                  # e-mail + id -> C3 ...
    ("R4", "BOB@x.com", None),                  # ... so this e-mail-only response -> C3 too
    ("R5", "test@example.com", None),           # placeholder e-mail: links nobody
    ("R6", None, None),                         # anonymous
    ("R7", "new@y.com", None),                  # two responses of the same unknown person
    ("R8", " New@Y.com", None),
]
AUTHORS = ["@Li_Hua", "@somebody_else"]         # handle-only author -> C4


@pytest.fixture(scope="module")
def resolved(pg_server, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    db = "identity_cases"
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"drop database if exists {db} with (force)")
        conn.execute(f"create database {db} template template0 encoding UTF8")
    url = pg_server.url(db)
    load_id = str(uuid.uuid4())
    with connect(url, autocommit=True) as conn:
        ensure_schema(conn, [e for s in load_sources().values() for e in s.entities])
        for cid, email, phone, handle in CUSTOMERS:
            conn.execute(
                "insert into raw.crm_customers (customer_id, email, phone, social_handle, signup_date, updated_at,"
                " _source_file, _load_id, _loaded_at) values (%s, %s, %s, %s, '2025-01-01', now(), 'f', %s, now())",
                (cid, email, phone, handle, load_id))
        for rid, email, cid in RESPONSES:
            conn.execute(
                "insert into raw.survey_responses (response_id, survey_id, submitted_at, respondent_email,"
                " respondent_customer_id, _source_file, _load_id, _loaded_at)"
                " values (%s, 'S', now(), %s, %s, 'f', %s, now())", (rid, email, cid, load_id))
        for i, handle in enumerate(AUTHORS):
            conn.execute(
                "insert into raw.social_mentions (platform, post_id, author_handle, posted_at,"
                " _source_file, _load_id, _loaded_at) values ('weibo', %s, %s, now(), 'f', %s, now())",
                (f"p{i}", handle, load_id))
    tmp = tmp_path_factory.mktemp("identity")
    dbt = str(Path(sys.executable).with_name("dbt"))
    out = subprocess.run(
        [dbt, "--no-use-colors", "build", "--select", "+intermediate.identity", "--indirect-selection", "buildable",
         "--project-dir", str(DBT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        env=dbt_env(url), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-4000:]
    with connect(url) as conn:
        persons = dict(conn.execute("select node_id, person_key from intermediate.int_persons_resolved").fetchall())
        refused = conn.execute(
            "select identifier_type, identifier_value, refused_reason, crm_customer_count "
            "from intermediate.int_identity_refused_merges order by 1, 2").fetchall()
        rates = {r[0]: r[1:] for r in conn.execute(
            "select population, total_count, matched_count from intermediate.int_identity_match_rates")}
    return persons, refused, rates


def test_normalised_email_and_crm_id_link_respondents(resolved) -> None:  # type: ignore[no-untyped-def]
    persons, _, _ = resolved
    assert persons["survey:R1"] == persons["crm:C1"] == "P-C1"
    assert persons["survey:R2"] == "P-C2"


def test_links_chain_through_shared_identifiers(resolved) -> None:  # type: ignore[no-untyped-def]
    persons, _, _ = resolved
    assert persons["survey:R3"] == persons["survey:R4"] == "P-C3"


def test_handle_only_author_resolves_to_the_customer(resolved) -> None:  # type: ignore[no-untyped-def]
    persons, _, _ = resolved
    assert persons["social:li_hua"] == "P-C4"
    assert persons["social:somebody_else"].startswith("A-")


def test_shared_phone_does_not_merge_two_customers_and_is_published(resolved) -> None:  # type: ignore[no-untyped-def]
    persons, refused, _ = resolved
    assert (persons["crm:C5"], persons["crm:C6"]) == ("P-C5", "P-C6")
    # "+86 138 0000 0001" and "138-0000-0001" are one number once normalised
    assert ("phone", "13800000001", "shared by 2 CRM customers", 2) in refused


def test_junk_identifiers_link_nobody_and_are_published(resolved) -> None:  # type: ignore[no-untyped-def]
    persons, refused, _ = resolved
    assert persons["survey:R5"].startswith("A-") and persons["crm:C7"] == "P-C7"
    assert ("email", "test@example.com", "blocked e-mail pattern", 1) in refused
    assert ("phone", "000000", "blocked value", 1) in refused


def test_unknown_people_stay_anonymous_but_grouped(resolved) -> None:  # type: ignore[no-untyped-def]
    persons, _, _ = resolved
    assert persons["survey:R6"].startswith("A-")
    assert persons["survey:R7"] == persons["survey:R8"] and persons["survey:R7"].startswith("A-")
    assert persons["survey:R6"] != persons["survey:R7"]


def test_match_rates_count_what_was_matched(resolved) -> None:  # type: ignore[no-untyped-def]
    _, _, rates = resolved
    assert rates["survey_responses"] == (8, 4)   # R1, R2, R3, R4
    assert rates["social_authors"] == (2, 1)     # li_hua
