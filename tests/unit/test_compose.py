"""docker-compose.yml agrees with the code it runs.

No Docker engine is needed: the file is parsed with PyYAML, ``${VAR...}`` references are
resolved the way Compose resolves them, and the result is checked against the repository
(settings.py, dags/, config/, the Dockerfile, the postgres init scripts). The checks guard
the mistakes that only show once somebody runs ``docker compose up``: a renamed setting, a
host name or port that does not match its service, a mount that hides the DAGs, a secret
typed into the file.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
SETTINGS_FILE = REPO / "src" / "cx_warehouse" / "config" / "settings.py"

AIRFLOW_ROLES = ("api-server", "scheduler", "dag-processor", "triggerer")
"""The long-running Airflow 3 components, by the ``airflow`` sub-command that starts them."""

INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
SECRET_KEY_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$|PRIVATE")


# --- helpers -------------------------------------------------------------------------------


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Resolve ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` as Compose does.

    A variable not in ``env`` becomes its default, or ``<VAR>`` when it has none, so a URL
    keeps its shape and the password slot shows which variable fills it.
    """
    env = env or {}

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        if name in env:
            return env[name]
        if op in (":-", "-"):
            return arg
        return f"<{name}>"

    return INTERPOLATION.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def is_interpolated(value: str) -> bool:
    """True when the whole value is one ``${...}`` reference (no literal around it)."""
    match = INTERPOLATION.fullmatch(value)
    return match is not None and match.group("op") not in ("-", ":-")


def mask_references(value: str) -> tuple[str, list[str]]:
    """``value`` with each ``${...}`` replaced by ``__refN__``, and the references by N.

    A reference like ``${VAR:?msg}`` may hold ':', '/' or '?', which would confuse a URL parser.
    """
    refs: list[str] = []

    def mask(match: re.Match[str]) -> str:
        refs.append(match.group(0))
        return f"__ref{len(refs) - 1}__"

    return INTERPOLATION.sub(mask, value), refs


def secret_findings(environment: dict[str, Any]) -> list[str]:
    """Names of variables whose secret is written into the file instead of referenced.

    A secret-named variable must be exactly one ``${VAR}`` / ``${VAR:?...}`` reference, and
    the password of any URL must be one such reference too. ``*_FILE`` names hold paths.
    """
    findings = []
    for key, raw in environment.items():
        value = str(raw)
        if SECRET_KEY_NAME.search(key) and not key.endswith("_FILE"):
            if not is_interpolated(value):
                findings.append(key)
            continue
        masked, refs = mask_references(value)
        if "://" not in masked:
            continue
        password = urlsplit(masked).password
        if password:
            ref = re.fullmatch(r"__ref(\d+)__", password)
            if ref is None or not is_interpolated(refs[int(ref.group(1))]):
                findings.append(key)
    return findings


def load_compose() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(doc, dict), "docker-compose.yml is not a mapping"
    return doc


def env_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):  # the "KEY=value" form
        environment = dict(item.split("=", 1) for item in environment)
    return {str(k): str(v) for k, v in environment.items()}


def resolved_env(service: dict[str, Any]) -> dict[str, str]:
    return {k: interpolate(v) for k, v in env_of(service).items()}


def command_of(service: dict[str, Any]) -> str:
    command = service.get("command") or ""
    return command if isinstance(command, str) else " ".join(map(str, command))


def mounts_of(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, container target) of every volume entry, short or long syntax."""
    mounts = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            mounts.append((str(entry.get("source", "")), str(entry["target"])))
        else:
            source, target = interpolate(str(entry)).split(":")[:2]
            mounts.append((source, target))
    return mounts


def bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container target -> host path, for the mounts of repository paths."""
    return {target: (REPO / source).resolve() for source, target in mounts_of(service)
            if source.startswith((".", "/"))}


def mounted_source(service: dict[str, Any], container_path: str) -> tuple[str, str] | None:
    """The mount that holds ``container_path`` (the deepest one), as (source, target)."""
    path = PurePosixPath(container_path)
    holders = [(s, t) for s, t in mounts_of(service)
               if path == PurePosixPath(t) or PurePosixPath(t) in path.parents]
    return max(holders, key=lambda m: len(m[1])) if holders else None


def container_port(published: str) -> int:
    """The container side of a short-syntax port: "127.0.0.1:8025:8025" -> 8025."""
    return int(interpolate(str(published)).rsplit(":", 1)[-1].split("/")[0])


def settings_variables() -> set[str]:
    """The CX_* environment variables settings.py reads."""
    return set(re.findall(r"""environ\.get\(\s*["'](CX_[A-Z0-9_]+)["']""", SETTINGS_FILE.read_text()))


def services_by_image(services: dict[str, Any], prefix: str) -> list[str]:
    return [name for name, svc in services.items() if str(svc.get("image", "")).startswith(prefix)]


def one_service(services: dict[str, Any], prefix: str) -> str:
    names = services_by_image(services, prefix)
    assert len(names) == 1, f"expected one service with image {prefix}*, found {names}"
    return names[0]


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found = compose.get("services")
    assert isinstance(found, dict) and found, "docker-compose.yml defines no services"
    return found


@pytest.fixture(scope="module")
def airflow_services(services: dict[str, Any]) -> dict[str, Any]:
    """Every service that runs the project image (built from docker/Dockerfile)."""
    found = {name: svc for name, svc in services.items() if "build" in svc}
    assert found, "no service builds the project image"
    return found


@pytest.fixture(scope="module")
def by_role(airflow_services: dict[str, Any]) -> dict[str, str]:
    """Airflow role -> the service name that runs it (plus "init" for `airflow db migrate`)."""
    roles: dict[str, str] = {}
    for name, svc in airflow_services.items():
        words = command_of(svc).split()
        for role in AIRFLOW_ROLES:
            if words[:2] == ["airflow", role]:
                roles[role] = name
        if "airflow db migrate" in command_of(svc):
            roles["init"] = name
    return roles


@pytest.fixture(scope="module")
def postgres(services: dict[str, Any]) -> str:
    return one_service(services, "postgres:")


@pytest.fixture(scope="module")
def mailpit(services: dict[str, Any]) -> str:
    return one_service(services, "axllent/mailpit")


# --- the stack -----------------------------------------------------------------------------


def test_compose_file_parses_into_services(compose: dict[str, Any], services: dict[str, Any]) -> None:
    assert compose.get("name") == "cx-warehouse", "the project name prefixes every container and volume"
    assert all(isinstance(svc, dict) for svc in services.values())


def test_postgres_is_version_16_with_a_healthcheck(services: dict[str, Any], postgres: str) -> None:
    svc = services[postgres]
    assert re.fullmatch(r"postgres:16([.-].*)?", svc["image"]), svc["image"]
    test = svc.get("healthcheck", {}).get("test")
    assert test and "pg_isready" in " ".join(test if isinstance(test, list) else [test])


def test_every_airflow_3_component_and_the_init_job_run(by_role: dict[str, str]) -> None:
    missing = [role for role in (*AIRFLOW_ROLES, "init") if role not in by_role]
    assert not missing, f"no service runs: {missing}"


def test_airflow_services_share_one_executor_and_skip_the_examples(
    airflow_services: dict[str, Any],
) -> None:
    for name, svc in airflow_services.items():
        env = resolved_env(svc)
        assert env.get("AIRFLOW__CORE__EXECUTOR") == "LocalExecutor", name
        assert env.get("AIRFLOW__CORE__LOAD_EXAMPLES", "").lower() == "false", name


def test_secrets_shared_by_all_airflow_components_are_set_in_each(
    airflow_services: dict[str, Any],
) -> None:
    """Tokens the scheduler signs must verify in the API server: same secrets everywhere."""
    shared = ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY")
    values = {key: {env_of(svc).get(key) for svc in airflow_services.values()} for key in shared}
    for key, seen in values.items():
        assert None not in seen and len(seen) == 1, f"{key} differs or is missing: {seen}"


def test_execution_api_url_points_at_the_api_server(
    services: dict[str, Any], airflow_services: dict[str, Any], by_role: dict[str, str],
) -> None:
    api_name = by_role["api-server"]
    listens_on = int(resolved_env(services[api_name]).get("AIRFLOW__API__PORT", "8080"))
    for name, svc in airflow_services.items():
        url = urlsplit(resolved_env(svc)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert url.hostname == api_name, name
        assert url.port == listens_on, name
        assert url.path == "/execution/", name


# --- databases -----------------------------------------------------------------------------


def init_scripts(services: dict[str, Any], postgres: str) -> str:
    """The text of the scripts mounted into the postgres image's initdb directory."""
    mount = mounted_source(services[postgres], "/docker-entrypoint-initdb.d/x")
    assert mount, "no init scripts are mounted into the postgres service"
    folder = (REPO / mount[0]).resolve()
    scripts = sorted(p for p in folder.iterdir() if p.suffix in {".sql", ".sh"})
    assert scripts, f"{folder} holds no .sql/.sh init script"
    return "\n".join(p.read_text() for p in scripts)


def test_warehouse_url_is_the_cx_database_of_the_postgres_service(
    airflow_services: dict[str, Any], services: dict[str, Any], postgres: str,
) -> None:
    created = init_scripts(services, postgres)
    for name, svc in airflow_services.items():
        url = urlsplit(resolved_env(svc)["CX_WAREHOUSE_URL"])
        assert url.scheme in {"postgresql", "postgres"}, name
        assert url.hostname == postgres and (url.port or 5432) == 5432, name
        assert url.path == "/cx", name
    assert re.search(r"""['"]cx['"]""", created), "the init scripts do not create database cx"


def test_airflow_metadata_lives_in_its_own_database(
    airflow_services: dict[str, Any], services: dict[str, Any], postgres: str,
) -> None:
    created = init_scripts(services, postgres)
    for name, svc in airflow_services.items():
        env = resolved_env(svc)
        sync_url = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert sync_url.hostname == postgres, name
        assert sync_url.path == "/airflow", name
        async_url = urlsplit(env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", ""))
        assert async_url.hostname == postgres and async_url.path == "/airflow", name
    assert re.search(r"""['"]airflow['"]""", created), "the init scripts do not create database airflow"


def locked_packages() -> set[str]:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    return {str(package["name"]) for package in lock["package"]}


POSTGRES_DRIVERS = {"psycopg": {"psycopg"}, "psycopg2": {"psycopg2", "psycopg2-binary"}, "asyncpg": {"asyncpg"}}
"""SQLAlchemy dialect driver -> the packages that provide it."""


def test_airflow_database_drivers_are_in_the_lock(airflow_services: dict[str, Any]) -> None:
    """Airflow opens a sync and an async engine; both drivers must be installed.

    Without SQL_ALCHEMY_CONN_ASYNC Airflow derives ``postgresql+asyncpg://`` from the sync
    URL, and every Airflow command fails at start-up when asyncpg is missing.
    """
    locked = locked_packages()
    for name, svc in airflow_services.items():
        env = resolved_env(svc)
        sync_scheme = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).scheme
        async_scheme = urlsplit(env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", "")).scheme
        drivers = {
            "sync": sync_scheme.partition("+")[2] or "psycopg2",  # SQLAlchemy's default
            "async": async_scheme.partition("+")[2] or "asyncpg",  # Airflow's derived default
        }
        for engine, driver in drivers.items():
            assert POSTGRES_DRIVERS.get(driver, set()) & locked, f"{name}: {engine} driver {driver} is not locked"


def test_postgres_user_and_password_match_the_urls(
    services: dict[str, Any], airflow_services: dict[str, Any], postgres: str,
) -> None:
    env = {"POSTGRES_USER": "u", "POSTGRES_PASSWORD": "p"}  # any values: both sides must follow them
    pg_env = {k: interpolate(v, env) for k, v in env_of(services[postgres]).items()}
    for name, svc in airflow_services.items():
        for key in ("CX_WAREHOUSE_URL", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
            url = urlsplit(interpolate(env_of(svc)[key], env))
            assert (url.username, url.password) == (pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"]), (
                name, key)


def test_services_wait_for_a_healthy_postgres_and_a_finished_init(
    airflow_services: dict[str, Any], by_role: dict[str, str], postgres: str,
) -> None:
    for name, svc in airflow_services.items():
        depends = svc.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        assert depends.get(postgres, {}).get("condition") == "service_healthy", name
        if name != by_role["init"]:
            assert depends.get(by_role["init"], {}).get("condition") == "service_completed_successfully", name


# --- settings and mounts -------------------------------------------------------------------


def test_settings_py_reads_the_variables_this_test_knows() -> None:
    """Guard for the next test: if the regex found nothing, that test would prove nothing."""
    assert {"CX_WAREHOUSE_URL", "CX_HOME", "CX_LANDING", "CX_CONFIG_DIR"} <= settings_variables()


def test_every_cx_variable_in_compose_is_one_settings_reads(
    compose: dict[str, Any], services: dict[str, Any],
) -> None:
    known = settings_variables()
    set_in_compose = {key for svc in services.values() for key in env_of(svc) if key.startswith("CX_")}
    referenced = set(re.findall(r"(?<![A-Za-z0-9_])CX_[A-Z0-9_]+", COMPOSE_FILE.read_text()))
    assert set_in_compose, "compose sets no CX_* variable"
    assert set_in_compose | referenced <= known, f"not read by settings.py: {(set_in_compose | referenced) - known}"


def test_airflow_services_get_every_path_setting(airflow_services: dict[str, Any]) -> None:
    for name, svc in airflow_services.items():
        env = resolved_env(svc)
        for key in ("CX_WAREHOUSE_URL", "CX_HOME", "CX_LANDING", "CX_CONFIG_DIR"):
            assert env.get(key), f"{name} lacks {key}"


def test_dags_folder_is_where_the_repository_dags_are_mounted(airflow_services: dict[str, Any]) -> None:
    for name, svc in airflow_services.items():
        dags_folder = resolved_env(svc)["AIRFLOW__CORE__DAGS_FOLDER"]
        assert bind_mounts(svc).get(dags_folder) == REPO / "dags", f"{name}: {dags_folder} is not ./dags"
        assert any((REPO / "dags").glob("*.py"))


def test_suites_and_report_definitions_reach_the_tasks(airflow_services: dict[str, Any]) -> None:
    """The gates read expectations/ and the report DAGs reports/ beside the package (PROJECT_DIR
    is /opt/cx in the image): both are in the image and mounted over it for live edits."""
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    for folder in ("expectations", "reports"):
        assert f"COPY {folder} ./{folder}" in dockerfile
        for name, svc in airflow_services.items():
            assert bind_mounts(svc).get(f"/opt/cx/{folder}") == REPO / folder, f"{name}: ./{folder} not mounted"
    assert "fonts-noto-cjk" in dockerfile and "libpango" in dockerfile


def test_config_dir_is_where_the_repository_config_is_mounted(airflow_services: dict[str, Any]) -> None:
    for name, svc in airflow_services.items():
        config_dir = resolved_env(svc)["CX_CONFIG_DIR"]
        assert bind_mounts(svc).get(config_dir) == REPO / "config", f"{name}: {config_dir} is not ./config"
        assert any((REPO / "config" / "sources").glob("*.yml"))


def test_landing_zone_and_home_are_on_a_persistent_volume(
    compose: dict[str, Any], airflow_services: dict[str, Any],
) -> None:
    """The scheduler's tasks read the landing zone; it must outlive the containers."""
    named = set(compose.get("volumes") or {})
    for name, svc in airflow_services.items():
        env = resolved_env(svc)
        for key in ("CX_HOME", "CX_LANDING"):
            mount = mounted_source(svc, env[key])
            assert mount is not None, f"{name}: {key}={env[key]} is on no volume"
            source = mount[0]
            assert source in named or (REPO / source).is_dir(), f"{name}: {key} on unknown volume {source}"


def test_mounted_repository_paths_exist(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        for target, host_path in bind_mounts(svc).items():
            assert host_path.exists(), f"{name} mounts {host_path} at {target}, which is not in the repo"
            assert host_path == REPO or REPO in host_path.parents, f"{name} mounts {host_path} outside the repo"


def test_named_volumes_are_declared(compose: dict[str, Any], services: dict[str, Any]) -> None:
    named = set(compose.get("volumes") or {})
    for name, svc in services.items():
        for source, _target in mounts_of(svc):
            if source and not source.startswith((".", "/")):
                assert source in named, f"{name} uses undeclared volume {source}"


def test_the_project_source_mount_is_the_installed_package(airflow_services: dict[str, Any]) -> None:
    """The image installs the package editable from /opt/cx/src; the mount must be that path."""
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    workdir = re.findall(r"^WORKDIR\s+(\S+)", dockerfile, flags=re.M)
    assert workdir, "the Dockerfile sets no WORKDIR"
    for name, svc in airflow_services.items():
        assert bind_mounts(svc).get(f"{workdir[-1]}/src") == REPO / "src", name


# --- the image -----------------------------------------------------------------------------


def test_airflow_image_is_built_from_the_repository_dockerfile(airflow_services: dict[str, Any]) -> None:
    for name, svc in airflow_services.items():
        build = svc["build"] if isinstance(svc["build"], dict) else {"context": svc["build"]}
        context = (REPO / build.get("context", ".")).resolve()
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: no {dockerfile}"
        assert (context / "uv.lock").is_file() and (context / "pyproject.toml").is_file(), name


def dockerfile_text() -> str:
    return (REPO / "docker" / "Dockerfile").read_text()


def test_dockerfile_installs_the_project_from_the_lock_file() -> None:
    text = dockerfile_text()
    copied = " ".join(re.findall(r"^COPY\s+(.+)$", text, flags=re.M))
    assert "uv.lock" in copied and "pyproject.toml" in copied
    syncs = re.findall(r"uv sync[^\n]*", text)
    assert syncs and all("--frozen" in s or "--locked" in s for s in syncs), syncs
    assert any("--no-install-project" not in s for s in syncs), "the project itself is never installed"
    assert re.search(r"^COPY\s+src\b", text, flags=re.M), "the package source is not copied"


def single_arch_linux_packages() -> set[str]:
    """Locked packages with a Linux wheel for x86_64 or for aarch64 but not both, and no sdist."""
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    found = set()
    for package in lock["package"]:
        wheels = [str(w["url"]).rsplit("/", 1)[-1] for w in package.get("wheels", [])]
        if "sdist" in package or any(w.endswith("-none-any.whl") for w in wheels):
            continue
        arches = {arch for w in wheels if "linux" in w for arch in ("x86_64", "aarch64") if arch in w}
        if len(arches) == 1:
            found.add(str(package["name"]))
    return found


def test_image_builds_on_both_linux_architectures() -> None:
    """Docker on Apple silicon builds linux/arm64: a package without a wheel for it (and no
    sdist) makes `uv sync` fail there, so every sync must leave such packages out."""
    single_arch = single_arch_linux_packages()
    for sync in re.findall(r"uv sync[^\n]*", dockerfile_text()):
        left_out = set(re.findall(r"--no-install-package[ =](\S+)", sync))
        assert single_arch <= left_out, f"{sync!r} installs {sorted(single_arch - left_out)}"


def test_dockerfile_python_matches_requires_python() -> None:
    base = re.findall(r"^FROM\s+(\S+)", dockerfile_text(), flags=re.M)[-1]
    match = re.search(r"python:?3\.(\d+)", base)
    assert match, f"cannot tell the Python of {base}"
    minor = int(match.group(1))
    requires = re.search(r'requires-python\s*=\s*">=3\.(\d+),<3\.(\d+)"', (REPO / "pyproject.toml").read_text())
    assert requires and int(requires.group(1)) <= minor < int(requires.group(2)), base


def test_dockerfile_copies_only_what_the_build_context_keeps() -> None:
    ignore_file = REPO / ".dockerignore"
    ignored = {line.strip().rstrip("/") for line in ignore_file.read_text().splitlines()
               if line.strip() and not line.startswith("#")} if ignore_file.exists() else set()
    for line in re.findall(r"^COPY\s+(?!--from)(.+)$", dockerfile_text(), flags=re.M):
        for source in line.split()[:-1]:
            if source.startswith("--"):
                continue
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert source.rstrip("/") not in ignored, f"COPY {source}: excluded by .dockerignore"


# --- mail ----------------------------------------------------------------------------------


def test_cx_smtp_connection_reaches_mailpit(
    services: dict[str, Any], airflow_services: dict[str, Any], mailpit: str,
) -> None:
    bind = resolved_env(services[mailpit]).get("MP_SMTP_BIND_ADDR", "0.0.0.0:1025")
    smtp_port = int(bind.rsplit(":", 1)[1])  # Mailpit's SMTP listener, 1025 unless moved
    for name, svc in airflow_services.items():
        uri = urlsplit(resolved_env(svc)["AIRFLOW_CONN_CX_SMTP"])
        assert uri.scheme == "smtp", name
        assert uri.hostname == mailpit, name
        assert uri.port == smtp_port, name


def test_cx_smtp_connection_speaks_plain_smtp(airflow_services: dict[str, Any]) -> None:
    """The reports' sender uses STARTTLS unless told otherwise; Mailpit offers no TLS."""
    for name, svc in airflow_services.items():
        extra = parse_qs(urlsplit(resolved_env(svc)["AIRFLOW_CONN_CX_SMTP"]).query)
        assert extra.get("security") == ["none"], name
        assert extra.get("sender") == ["cx-reports@example.com"], name


def test_mailpit_publishes_its_web_ui(services: dict[str, Any], mailpit: str) -> None:
    assert 8025 in {container_port(p) for p in services[mailpit].get("ports", [])}


# --- secrets -------------------------------------------------------------------------------


def test_no_secret_is_written_into_the_compose_file(services: dict[str, Any]) -> None:
    findings = {name: secret_findings(env_of(svc)) for name, svc in services.items()}
    assert not any(findings.values()), f"literal secrets: {findings}"


def test_required_secrets_have_no_default(services: dict[str, Any]) -> None:
    """${VAR:-default} for a secret would start the stack with a guessable one."""
    for name, svc in services.items():
        for key, value in env_of(svc).items():
            for ref in INTERPOLATION.finditer(value):
                if SECRET_KEY_NAME.search(ref.group("name")):
                    assert ref.group("op") in (None, ":?", "?"), f"{name}.{key}: {ref.group(0)}"


@pytest.mark.parametrize(
    ("environment", "flagged"),
    [
        ({"POSTGRES_PASSWORD": "hunter2"}, ["POSTGRES_PASSWORD"]),
        ({"POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:-hunter2}"}, ["POSTGRES_PASSWORD"]),
        ({"AIRFLOW__API_AUTH__JWT_SECRET": "abc${X}"}, ["AIRFLOW__API_AUTH__JWT_SECRET"]),
        ({"URL": "postgresql://cx:hunter2@postgres:5432/cx"}, ["URL"]),
        ({"URL": "postgresql://cx:${P:?set P}x@postgres:5432/cx"}, ["URL"]),
        ({"URL": "postgresql://${U:-cx}:${P:?set P}@postgres:5432/cx"}, []),
        ({"POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:?set it}"}, []),
        ({"URL": "smtp://mailpit:1025"}, []),
    ],
)
def test_secret_check_tells_literal_from_referenced(environment: dict[str, str], flagged: list[str]) -> None:
    assert secret_findings(environment) == flagged


def test_dbt_project_is_mounted_where_the_package_looks_for_it(airflow_services: dict[str, Any]) -> None:
    """The transform DAG runs dbt on <project>/dbt_project: it must be there in every container."""
    for name, svc in airflow_services.items():
        assert bind_mounts(svc).get("/opt/cx/dbt_project") == REPO / "dbt_project", name
