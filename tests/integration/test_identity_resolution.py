"""Identity resolution on the cases that break naive joins: case and spacing, id-only
respondents, chains, handle-only authors, a shared household phone, junk identifiers; and on
the shapes that break naive graph algorithms (issue 13): a path of 2,000 nodes, a star of
1,500, many small components, a cycle, isolated nodes, and a random graph on which the
union-find model must equal, row for row, the recursive closure it replaced
(tests/fixtures/int_persons_resolved_recursive.sql). One dbt build serves every test."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

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

# --- graph shapes (issue 13); every case has ids of its own, so no two cases link -------------
CHAIN_LENGTH = 1000  # customers, and as many responses: a path of 2,000 nodes
STAR_SIZE = 1500     # responses carrying one customer's e-mail
SMALL_COUNT = 300    # customers with 0-3 responses each
ISOLATED_COUNT = 5   # customers, anonymous responses and unknown authors linked to nothing
RANDOM_SEED = 13


def chain_case() -> tuple[list[tuple[str, str | None, str | None, str | None]], list[tuple[str, str | None, str | None]]]:
    """customer -email- response -crm id- customer -email- response ... with the lowest
    customer id at the far end, so naive min-label propagation needs ~2,000 rounds."""
    ids = [f"CH{i:04d}" for i in range(1, CHAIN_LENGTH + 1)]
    random.Random(RANDOM_SEED).shuffle(ids)
    ids.remove("CH0001")
    ids.append("CH0001")
    customers = [(cid, f"{cid.lower()}@chain.cn", None, None) for cid in ids]
    responses = [(f"CHR{i:04d}", f"{cid.lower()}@chain.cn", ids[i + 1] if i + 1 < len(ids) else None)
                 for i, cid in enumerate(ids)]
    return customers, responses


def star_case() -> tuple[list[tuple[str, str | None, str | None, str | None]], list[tuple[str, str | None, str | None]]]:
    """A prolific respondent: one customer's e-mail on 1,500 responses."""
    return ([("ST1", "star@star.cn", None, None)],
            [(f"STR{i:04d}", "Star@Star.cn", None) for i in range(1, STAR_SIZE + 1)])


def small_case() -> tuple[list[tuple[str, str | None, str | None, str | None]], list[tuple[str, str | None, str | None]]]:
    """Many small components: customer SMi and i % 4 responses by e-mail or by id."""
    customers = [(f"SM{i:03d}", f"sm{i}@small.cn", None, None) for i in range(1, SMALL_COUNT + 1)]
    responses = [(f"SMR{i:03d}-{k}", f"sm{i}@small.cn" if k % 2 else None, None if k % 2 else f"SM{i:03d}")
                 for i in range(1, SMALL_COUNT + 1) for k in range(i % 4)]
    return customers, responses


CYCLE_CUSTOMERS = [("CY1", "cy1@cycle.cn", None, None), ("CY2", "cy2@cycle.cn", None, None),
                   ("CY3", "cy3@cycle.cn", None, None)]
CYCLE_RESPONSES = [("CYR1", "cy1@cycle.cn", "CY2"), ("CYR2", "cy2@cycle.cn", "CY3"),
                   ("CYR3", "cy3@cycle.cn", "CY1")]   # CY1-CYR1-CY2-CYR2-CY3-CYR3-CY1
ISOLATED_CUSTOMERS = [(f"IS{i}", None, None, None) for i in range(1, ISOLATED_COUNT + 1)]
ISOLATED_RESPONSES = [(f"ISR{i}", None, None) for i in range(1, ISOLATED_COUNT + 1)]
ISOLATED_AUTHORS = [f"@isolated_{i}" for i in range(1, ISOLATED_COUNT + 1)]


def random_case() -> tuple[list[tuple[str, str | None, str | None, str | None]],
                           list[tuple[str, str | None, str | None]], list[str]]:
    """About 4,000 nodes drawn from shared pools: e-mails, phones and handles collide (the
    guards refuse some), responses carry an e-mail, a CRM id (sometimes unknown) or both."""
    rng = random.Random(RANDOM_SEED)
    customer_ids = [f"G{i:04d}" for i in range(1, 1501)]
    emails = [f"g{i}@random.cn" for i in range(1300)]
    customers = [(cid, rng.choice(emails) if rng.random() < 0.8 else None,
                  f"139{rng.randrange(1400):08d}" if rng.random() < 0.5 else None,
                  f"g_{rng.randrange(700)}" if rng.random() < 0.4 else None) for cid in customer_ids]
    responses = []
    for i in range(1, 2001):
        email = rng.choice(emails + [f"other{k}@random.cn" for k in range(800)]) if rng.random() < 0.7 else None
        cid = (rng.choice(customer_ids) if rng.random() < 0.9 else "G9999") if rng.random() < 0.3 else None
        responses.append((f"GR{i:04d}", email, cid))
    authors = sorted({f"@g_{rng.randrange(1000)}" for _ in range(600)})
    return customers, responses, authors


# The chain and the star make the closure millions of pairs: the equality test leaves them out
CLOSURE_TOO_BIG = r"^(crm|survey):(CH|ST)"


def _insert(url: str, customers: list[Any], responses: list[Any], authors: list[str]) -> None:
    load_id = str(uuid.uuid4())
    with connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into raw.crm_customers (customer_id, email, phone, social_handle, signup_date, updated_at,"
            " _source_file, _load_id, _loaded_at) values (%s, %s, %s, %s, '2025-01-01', now(), 'f', %s, now())",
            [(*c, load_id) for c in customers])
        cur.executemany(
            "insert into raw.survey_responses (response_id, survey_id, submitted_at, respondent_email,"
            " respondent_customer_id, _source_file, _load_id, _loaded_at)"
            " values (%s, 'S', now(), %s, %s, 'f', %s, now())", [(*r, load_id) for r in responses])
        cur.executemany(
            "insert into raw.social_mentions (platform, post_id, author_handle, posted_at,"
            " _source_file, _load_id, _loaded_at) values ('weibo', %s, %s, now(), 'f', %s, now())",
            [(f"p{i}", handle, load_id) for i, handle in enumerate(authors)])


def _dbt(url: str, tmp: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    dbt = str(Path(sys.executable).with_name("dbt"))
    return subprocess.run(
        [dbt, "--no-use-colors", *args, "--project-dir", str(DBT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        env={**dbt_env(url), **(env or {})}, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def built(pg_server, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:  # type: ignore[no-untyped-def]
    """Every case loaded into one fresh database and `+intermediate.identity` built once."""
    db = "identity_cases"
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"drop database if exists {db} with (force)")
        conn.execute(f"create database {db} template template0 encoding UTF8")
    url = pg_server.url(db)
    with connect(url, autocommit=True) as conn:
        ensure_schema(conn, [e for s in load_sources().values() for e in s.entities])
    cases = [(CUSTOMERS, RESPONSES, AUTHORS), (*chain_case(), []), (*star_case(), []), (*small_case(), []),
             (CYCLE_CUSTOMERS, CYCLE_RESPONSES, []), (ISOLATED_CUSTOMERS, ISOLATED_RESPONSES, ISOLATED_AUTHORS),
             random_case()]
    customers = [c for case in cases for c in case[0]]
    responses = [r for case in cases for r in case[1]]
    authors = [a for case in cases for a in case[2]]
    _insert(url, customers, responses, authors)
    tmp = tmp_path_factory.mktemp("identity")
    out = _dbt(url, tmp, "build", "--select", "+intermediate.identity", "--indirect-selection", "buildable")
    assert out.returncode == 0, out.stdout[-4000:]
    return url, tmp


@pytest.fixture(scope="module")
def resolved(built):  # type: ignore[no-untyped-def]
    url, _ = built
    with connect(url) as conn:
        persons = dict(conn.execute("select node_id, person_key from intermediate.int_persons_resolved").fetchall())
        refused = conn.execute(
            "select identifier_type, identifier_value, refused_reason, crm_customer_count "
            "from intermediate.int_identity_refused_merges order by 1, 2").fetchall()
        rates = {r[0]: r[1:] for r in conn.execute(
            "select population, total_count, matched_count from intermediate.int_identity_match_rates")}
    return persons, refused, rates


@pytest.fixture(scope="module")
def components(built) -> dict[str, tuple[str, str, bool]]:  # type: ignore[no-untyped-def]
    """node_id -> (person_key, component_id, is_known_customer)."""
    url, _ = built
    with connect(url) as conn:
        return {r[0]: r[1:] for r in conn.execute(
            "select node_id, person_key, component_id, is_known_customer from intermediate.int_persons_resolved")}


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


def test_match_rates_count_what_was_matched(resolved, components) -> None:  # type: ignore[no-untyped-def]
    _, _, rates = resolved
    assert [components[f"survey:R{i}"][2] for i in range(1, 9)] == [True] * 4 + [False] * 4  # R1-R4
    survey = [known for node, (_, _, known) in components.items() if node.startswith("survey:")]
    social = [known for node, (_, _, known) in components.items() if node.startswith("social:")]
    assert len(survey) == (len(RESPONSES) + CHAIN_LENGTH + STAR_SIZE + len(small_case()[1]) + len(CYCLE_RESPONSES)
                           + ISOLATED_COUNT + len(random_case()[1]))
    assert rates["survey_responses"] == (len(survey), sum(survey))
    assert rates["social_authors"] == (len(social), sum(social))
    assert rates["social_authors"][0] == len(AUTHORS) + ISOLATED_COUNT + len(random_case()[2])


def test_a_path_of_2000_nodes_is_one_person(components) -> None:  # type: ignore[no-untyped-def]
    chain = {k: v for k, v in components.items() if k.startswith(("crm:CH", "survey:CHR"))}
    assert len(chain) == 2 * CHAIN_LENGTH
    # the lowest customer sits at the far end of the path
    assert set(chain.values()) == {("P-CH0001", "crm:CH0001", True)}


def test_a_star_of_1500_responses_is_one_person(components) -> None:  # type: ignore[no-untyped-def]
    star = {k: v for k, v in components.items() if k.startswith(("crm:ST", "survey:STR"))}
    assert len(star) == STAR_SIZE + 1
    assert set(star.values()) == {("P-ST1", "crm:ST1", True)}


def test_many_small_components_stay_apart(components) -> None:  # type: ignore[no-untyped-def]
    customers, responses = small_case()
    for cid, *_ in customers:
        assert components[f"crm:{cid}"] == (f"P-{cid}", f"crm:{cid}", True)
    for rid, *_ in responses:  # SMR<i>-<k> belongs to SM<i>
        assert components[f"survey:{rid}"][0] == "P-SM" + rid.removeprefix("SMR").split("-")[0]
    assert len({components[f"crm:{c[0]}"][0] for c in customers}) == SMALL_COUNT


def test_a_cycle_is_one_person(components) -> None:  # type: ignore[no-untyped-def]
    cycle = [f"crm:{c[0]}" for c in CYCLE_CUSTOMERS] + [f"survey:{r[0]}" for r in CYCLE_RESPONSES]
    assert {components[n] for n in cycle} == {("P-CY1", "crm:CY1", True)}


def test_isolated_nodes_are_their_own_components(components) -> None:  # type: ignore[no-untyped-def]
    for cid, *_ in ISOLATED_CUSTOMERS:
        assert components[f"crm:{cid}"] == (f"P-{cid}", f"crm:{cid}", True)
    anonymous = [f"survey:{r[0]}" for r in ISOLATED_RESPONSES] + [f"social:{a[1:]}" for a in ISOLATED_AUTHORS]
    for node in anonymous:
        assert components[node] == ("A-" + hashlib.md5(node.encode()).hexdigest()[:16], node, False)


def _columns(conn: Any, relation: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod), a.attcollation from pg_attribute as a"
        " where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum",
        (relation,)).fetchall()


def test_union_find_equals_the_recursive_closure(built) -> None:  # type: ignore[no-untyped-def]
    """Identical rows and columns on everything but the chain and the star: the random graph
    of ~4,000 nodes (collisions, refusals, chains through responses), the named cases, the
    small components, the cycle and the isolated nodes."""
    url, _ = built
    fixture = Path(__file__).parents[1] / "fixtures" / "int_persons_resolved_recursive.sql"
    kept = f"node_id !~ '{CLOSURE_TOO_BIG}'"
    old = fixture.read_text().format(
        nodes=f"(select * from intermediate.int_identifiers_unioned where {kept})",
        edges=f"(select * from intermediate.int_identity_edges where {kept})")
    with connect(url) as conn:
        conn.execute(f"create temp table old_resolved as {old}")
        conn.execute(f"create temp view new_resolved as select * from intermediate.int_persons_resolved where {kept}")
        only_new = conn.execute("select * from (table new_resolved except all table old_resolved) as d limit 5").fetchall()
        only_old = conn.execute("select * from (table old_resolved except all table new_resolved) as d limit 5").fetchall()
        count, random_nodes, random_components = conn.execute(
            "select count(*), count(*) filter (where node_id ~ '^(crm:G|survey:GR|social:g_)'),"
            " count(distinct component_id) filter (where node_id ~ '^(crm:G|survey:GR|social:g_)') from old_resolved"
        ).fetchone()
        assert _columns(conn, "intermediate.int_persons_resolved") == _columns(conn, "old_resolved")
    assert (only_new, only_old) == ([], [])
    assert random_nodes > 3500 and 200 < random_components < random_nodes  # a graph, not isolated points
    assert count > random_nodes


def test_the_function_handles_empty_input_and_refuses_an_unnumbered_edge_end(built) -> None:  # type: ignore[no-untyped-def]
    """What the model hands the union-find function: no nodes, nodes without edges, self-links
    and repeated edges resolve; an edge end with no number (not a node) stops the build."""
    import psycopg

    url, _ = built
    roots = ("select coalesce(array_agg(root_node_number order by node_number), '{}')"
             " from intermediate.identity_connected_components(%s, %s, %s)")
    with connect(url) as conn:
        assert conn.execute(roots, (0, None, None)).fetchone() == ([],)
        assert conn.execute(roots, (3, None, None)).fetchone() == ([1, 2, 3],)
        assert conn.execute(roots, (5, [2, 2, 5, 4, 5], [2, 3, 4, 1, 4])).fetchone() == ([1, 2, 2, 1, 1],)
        with pytest.raises(psycopg.errors.RaiseException, match="not both among nodes"):
            conn.execute(roots, (3, [1], [None]))


def test_a_failed_rebuild_leaves_the_previous_table_and_no_leftovers(built) -> None:  # type: ignore[no-untyped-def]
    """The table is swapped in one transaction: a build that fails after computing (its
    rename cannot take the lock a reader holds) leaves the old table whole; the next build
    (the function re-created) gives the same rows."""
    url, tmp = built
    snapshot = "select md5(string_agg(t::text, ',' order by t.node_id)) from intermediate.int_persons_resolved as t"
    with connect(url) as conn:
        before = conn.execute(snapshot).fetchone()
    with connect(url) as reader:
        reader.execute("lock table intermediate.int_persons_resolved in access share mode")
        failed = _dbt(url, tmp, "run", "--select", "int_persons_resolved",
                      env={"PGOPTIONS": f"{os.environ.get('PGOPTIONS', '')} -c lock_timeout=3s".strip()})
        reader.rollback()
    assert failed.returncode != 0 and "lock timeout" in failed.stdout, failed.stdout[-3000:]
    with connect(url) as conn:
        assert conn.execute(snapshot).fetchone() == before
        leftovers = conn.execute(
            "select relname from pg_class where relname like 'int_persons_resolved%' and relname <> 'int_persons_resolved'"
        ).fetchall()
        assert leftovers == []
    again = _dbt(url, tmp, "run", "--select", "int_persons_resolved")
    assert again.returncode == 0, again.stdout[-3000:]
    with connect(url) as conn:
        assert conn.execute(snapshot).fetchone() == before
