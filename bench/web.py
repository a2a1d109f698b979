"""The web tier at platform size: ~50,000 listings, ~2,000 organisations, on PostgreSQL
behind gunicorn, measured side by side with a bare Flask endpoint in the same workers.

    .venv/bin/python bench/web.py                 # build, measure, drop the database
    .venv/bin/python bench/web.py --seconds 20    # shorter load phases
    .venv/bin/python bench/web.py --keep-db       # keep `cc_bench_web` for a look after

Needs PostgreSQL and Redis (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres: a
server where it may create and drop its own database `cc_bench_web`). It takes a few
minutes and loads the machine, so it is not part of `make bench`.

1. Builds the market in a fresh database: migrations, the demo, then organisations and
   listings by bulk inserts that respect every constraint (kinds, statuses, quantities,
   windows; ~91 % open, some past their end date so expiry is read at query time).
2. Starts gunicorn (gunicorn.conf.py, its default 2 workers) on bench/web_wsgi.py.
3. One client alone: p50/p95 of each kind of request (text search, filters, page 200 by
   cursor and by number, one listing; API and pages), then EXPLAIN ANALYZE of the
   listing query behind the slowest kind.
4. 50 clients with no think time: the bare endpoint, API listing reads, and the mixed
   browse (pages, API reads, searches, deep pages, listing posts); throughput,
   p50/p95/p99 and errors for each, and their ratios to the bare endpoint; the share of
   cached market reads (app.core.read_cache) that were answered from memory.
5. The mixed browse again while a matching run on the whole market solves in a job worker
   (`flask jobs worker` on BENCH_REDIS_URL, default redis://127.0.0.1:6379/15, as in
   `make serve`): its p99 against the idle one.

Latencies are measured by the client on the same machine (loopback): server time plus a
connection. The client is a small asyncio loop (one process) so that it costs the
server as little CPU as possible; it shares the 2 cores with gunicorn and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.models import Role, User  # noqa: E402
from app.auth.tokens import issue_token  # noqa: E402
from app.core.paging import encode_cursor  # noqa: E402
from app.demo.data import EMAIL_DOMAIN, MEMBER_PASSWORD, ORGANISATIONS  # noqa: E402
from app.demo.seed import seed_demo  # noqa: E402
from app.extensions import db  # noqa: E402
from app.market import browse  # noqa: E402
from app.market.models import Currency, Listing, Organisation  # noqa: E402
from config import Config  # noqa: E402

DB_NAME = "cc_bench_web"
TARGETS = {"single_p95_ms": 50, "api_rps": 300, "api_p99_ms": 250, "mixed_p99_ms": 400}

ROLES = ["nurse", "physiotherapist", "social worker", "occupational therapist", "paramedic",
         "pharmacist", "midwife", "health visitor", "care coordinator", "housing officer",
         "data analyst", "administrator", "phlebotomist", "speech therapist", "dietitian",
         "counsellor", "youth worker", "librarian", "caretaker", "driver"]
THINGS = ["sessions", "shifts", "days", "placements", "training places", "course places",
          "clinic room", "meeting room", "hot desks", "van loan", "apprenticeships",
          "mentoring", "supervision", "outreach visits", "weekend cover", "evening cover"]
TOPICS = ["mental health", "homelessness", "safeguarding", "digital skills", "first aid",
          "dementia", "diabetes", "falls prevention", "recovery", "employment support",
          "manual handling", "infection control", "end of life care", "young carers"]
TAGS = ["dbs-checked", "accredited", "evening", "weekend", "remote-ok", "level-3",
        "clinical", "outreach", "volunteers", "urgent", "bilingual", "accessible"]
SECTORS = ["acute_trust", "community_trust", "mental_health_trust", "primary_care_network",
           "county_council", "district_council", "housing_association", "hospice",
           "voluntary", "college", "other"]
SEARCHES = ["nurse", "physiotherapy", "clinic room", "digital skills", '"mental health"',
            "safeguarding -children", "phleb", "dementia or diabetes", "weekend cover",
            "housing"]


# --- building the market -------------------------------------------------------------------

def build(url: str, organisations: int, listings: int, seed: int = 12) -> None:
    rng = random.Random(seed)
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        seed_demo(date.today())
        db.session.commit()
        currencies = db.session.execute(db.select(Currency)).scalars().all()
        areas = [f"area-{n:03d}" for n in range(120)]
        org_rows = [{
            "name": f"Bench organisation {n:04d}", "slug": f"bench-org-{n:04d}",
            "sector": rng.choice(SECTORS), "areas": rng.sample(areas, rng.randint(1, 4)),
            "contact_name": "Bench", "contact_email": "", "contact_phone": "",
            "description": f"A {rng.choice(TOPICS)} partner.", "internal_notes": "",
            "created_at": datetime(2025, 1, 1), "updated_at": datetime(2025, 1, 1),
        } for n in range(organisations)]
        db.session.execute(insert(Organisation), org_rows)
        orgs = db.session.execute(
            db.select(Organisation.id, Organisation.areas)).all()
        today = date.today()
        rows = []
        for n in range(listings):
            org_id, org_areas = rng.choice(orgs)
            currency = rng.choice(currencies)
            kind = "offer" if rng.random() < 0.55 else "need"
            quantity = rng.randint(1, 60)
            roll = rng.random()
            status = ("open" if roll < 0.91 else "fulfilled" if roll < 0.95
                      else "withdrawn" if roll < 0.98 else "expired")
            until = None if rng.random() < 0.5 else today + timedelta(days=rng.randint(-20, 365))
            start = None if until is None or rng.random() < 0.5 else until - timedelta(
                days=rng.randint(0, 90))
            created = datetime(2025, 1, 1) + timedelta(seconds=rng.randint(0, 700 * 86400))
            role, thing, topic = rng.choice(ROLES), rng.choice(THINGS), rng.choice(TOPICS)
            rows.append({
                "organisation_id": org_id, "kind": kind, "currency_id": currency.id,
                "category": rng.choice(currency.categories) if currency.categories else None,
                "title": f"{role.capitalize()} {thing} for {topic}"[:140],
                "description": f"{kind.capitalize()} of {role} {thing}; {topic} experience. "
                               f"Listing {n}.",
                "tags": rng.sample(TAGS, rng.randint(0, 3)), "quantity": quantity,
                "min_quantity": None, "remaining": quantity, "reserved": 0,
                "areas": [] if rng.random() < 0.1 else rng.sample(
                    list(org_areas), min(len(org_areas), rng.randint(1, 2))),
                "remote": False, "available_from": start, "available_until": until,
                "is_gift": kind == "offer" and rng.random() < 0.03, "status": status,
                "created_at": created, "updated_at": created,
            })
            if not rows[-1]["areas"]:
                rows[-1]["remote"] = True
        for chunk in range(0, len(rows), 5000):
            db.session.execute(insert(Listing), rows[chunk:chunk + 5000])
        db.session.commit()
    # What autovacuum does to a production database soon after a bulk load (this bench may
    # run where it is off): statistics, the visibility map, and the GIN indexes' pending
    # lists merged. Without it every area filter scanned all 50,000 rows' areas in the
    # pending list (pgstatginindex: 50,858 pending tuples) and every search 5,470.
    vacuum = create_engine(url, isolation_level="AUTOCOMMIT")
    with vacuum.connect() as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    vacuum.dispose()


def prepare_clients(url: str) -> dict:
    """A member's API token, cursors for page 200, listing ids and a member's areas."""
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        slug = ORGANISATIONS[0][0]
        member = db.session.execute(
            db.select(User).where(User.email == f"{slug}@{EMAIL_DOMAIN}")).scalar_one()
        _, token = issue_token(member, "bench")
        coordinator = db.session.execute(db.select(User).where(
            User.role == Role.COORDINATOR, User.enabled.is_(True)).limit(1)).scalar_one()
        _, coordinator_token = issue_token(coordinator, "bench")
        query = browse.browse_listings(browse.ListingFilters())
        rows = db.session.execute(query.statement.with_only_columns(*query.keys)
                                  .offset(199 * 20 - 1).limit(1)).all() or db.session.execute(
            query.statement.with_only_columns(*query.keys).limit(1)).all()
        keys = rows[0]
        cursor = encode_cursor(list(keys), "n")
        ids = list(db.session.execute(db.select(Listing.id).order_by(
            Listing.id.desc()).limit(2000)).scalars())
        currencies = {c.code: c.categories for c in db.session.execute(
            db.select(Currency)).scalars()}
        areas = sorted({a for (codes,) in db.session.execute(
            db.select(Organisation.areas).limit(300)) for a in codes})
        db.session.commit()
    return {"token": token, "coordinator_token": coordinator_token, "cursor": cursor,
            "ids": ids, "currencies": currencies, "areas": areas, "email": f"{slug}@{EMAIL_DOMAIN}"}


def explain(url: str, filters: browse.ListingFilters) -> str:
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        statement = browse.browse_listings(filters).ids.limit(20)  # as pages choose rows
        compiled = statement.compile(dialect=db.engine.dialect)
        connection = db.session.connection()
        rows = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), compiled.params).scalars().all()
        db.session.rollback()
    return "\n".join(rows)


# --- the server ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(url: str, port: int) -> dict:
    """Production settings; matching runs go to the job queue on BENCH_REDIS_URL (a run
    solves in `flask jobs worker`, a process of its own, as in `make serve`)."""
    return dict(os.environ, APP_ENV="production", DATABASE_URL=url, SECRET_KEY="bench-web",
                GUNICORN_BIND=f"127.0.0.1:{port}", LOG_LEVEL="warning",
                GUNICORN_ACCESS_LOG="", PYTHONPATH=str(ROOT), FLASK_APP="wsgi",
                REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
                JOB_QUEUE=f"bench-web-{port}")


def start_job_worker(url: str, port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(ROOT / ".venv/bin/flask"), "jobs", "worker"], cwd=ROOT,
                            env=server_env(url, port), stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def start_run(port: int, info: dict, time_limit: int) -> int:
    """Start a matching run on the whole market (coordinator) and wait until it solves."""
    base, headers = f"http://127.0.0.1:{port}", {
        "Authorization": f"Bearer {info['coordinator_token']}"}
    answer = requests.post(f"{base}/api/v1/matching/runs", headers=headers,
                           json={"time_limit": time_limit}, timeout=30)
    if answer.status_code not in (201, 202):
        raise SystemExit(f"could not start a run: {answer.status_code} {answer.text[:300]}")
    run_id = answer.json()["id"]
    for _ in range(600):
        run = run_status(port, info, run_id)
        if run["status"] != "queued" and run["progress"].startswith("solving"):
            return run_id
        if run["status"] in ("completed", "failed"):
            raise SystemExit(f"the run ended before the load: {run['status']} {run['progress']}")
        time.sleep(0.5)
    raise SystemExit("the run did not start solving within 5 minutes")


def run_status(port: int, info: dict, run_id: int) -> dict:
    return requests.get(f"http://127.0.0.1:{port}/api/v1/matching/runs/{run_id}", headers={
        "Authorization": f"Bearer {info['coordinator_token']}"}, timeout=30).json()


def start_gunicorn(url: str, port: int, log: Path) -> subprocess.Popen:
    env = server_env(url, port)
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "--pythonpath", "bench",
         "web_wsgi:application"], cwd=ROOT, env=env, stdout=log.open("w"),
        stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{port}/bare/", timeout=2).ok:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit(f"gunicorn did not start; see {log}")


def login_cookie(port: int, email: str) -> str:
    """A logged-in session cookie, through the login form. The cookie is Secure (as in
    production), so it is passed by hand over this plain-HTTP loopback."""
    base = f"http://127.0.0.1:{port}"
    first = requests.get(f"{base}/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', first.text)
    cookie = f"session={first.cookies['session']}"
    answer = requests.post(f"{base}/login", headers={"Cookie": cookie}, data={
        "csrf_token": token.group(1), "email": email, "password": MEMBER_PASSWORD},
        allow_redirects=False)
    cookie = f"session={answer.cookies['session']}"
    check = requests.get(f"{base}/market", headers={"Cookie": cookie}, allow_redirects=False)
    if check.status_code != 200:
        raise SystemExit(f"could not log in for the page requests ({check.status_code})")
    return cookie


# --- the client ----------------------------------------------------------------------------

async def request(port: int, method: str, path: str, headers: dict,
                  body: bytes | None = None) -> tuple[int, float]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
    await writer.drain()
    data = await reader.read()
    writer.close()
    elapsed = (time.perf_counter() - started) * 1000
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, elapsed


class Scenario:
    """The request kinds and the mixes, over the market that was built."""

    def __init__(self, info: dict, cookie: str, rng: random.Random):
        self.info, self.rng = info, rng
        self.api = {"Authorization": f"Bearer {info['token']}"}
        self.page = {"Cookie": cookie}
        self.posted = 0

    def _filters(self) -> str:
        r = self.rng
        choice = r.randrange(4)
        if choice == 0:
            currency = r.choice(list(self.info["currencies"]))
            return f"kind={r.choice(['offer', 'need'])}&currency={currency}"
        if choice == 1:
            return f"area={r.choice(self.info['areas'])}"
        if choice == 2:
            return f"tag={r.choice(TAGS)}&kind=offer"
        code = r.choice([c for c, cats in self.info["currencies"].items() if cats])
        return "category=" + requests.utils.quote(r.choice(self.info["currencies"][code]))

    def _q(self) -> str:
        """Half the searches are the popular ones, half a long tail of ~600 two-word
        searches (a role with a topic or a thing), so remembered answers cannot carry
        the whole load."""
        r = self.rng
        if r.random() < 0.5:
            words = r.choice(SEARCHES)
        else:
            words = f"{r.choice(ROLES)} {r.choice(TOPICS + THINGS)}"
        return "q=" + requests.utils.quote(words)

    def kinds(self) -> dict:
        r = self.rng
        return {
            "api text search": lambda: ("GET", f"/api/v1/listings?{self._q()}", self.api),
            "api filters": lambda: ("GET", f"/api/v1/listings?{self._filters()}", self.api),
            "api page 200 (cursor)": lambda: (
                "GET", f"/api/v1/listings?cursor={self.info['cursor']}", self.api),
            "api page 200 (number)": lambda: ("GET", "/api/v1/listings?page=200", self.api),
            "api one listing": lambda: (
                "GET", f"/api/v1/listings/{r.choice(self.info['ids'])}", self.api),
            "page /market search": lambda: ("GET", f"/market?{self._q()}", self.page),
            "page /market filters": lambda: ("GET", f"/market?{self._filters()}", self.page),
            "page /market page 200": lambda: ("GET", "/market?page=200", self.page),
            "page one listing": lambda: (
                "GET", f"/market/listings/{r.choice(self.info['ids'])}", self.page),
            "bare endpoint": lambda: ("GET", "/bare/", {}),
        }

    def post(self):
        self.posted += 1
        code = self.rng.choice([c for c, cats in self.info["currencies"].items() if cats])
        body = json.dumps({"kind": "offer", "currency": code,
                           "category": self.rng.choice(self.info["currencies"][code]),
                           "title": f"Bench post {self.posted}", "quantity": 3,
                           "remote": True}).encode()
        return "POST", "/api/v1/listings", self.api, body

    def api_mix(self):
        kinds = self.kinds()
        return kinds[self.rng.choice(["api text search", "api filters", "api filters",
                                      "api page 200 (cursor)", "api one listing"])]()

    def mixed(self):
        roll = self.rng.random()
        kinds = self.kinds()
        if roll < 0.05:
            return self.post()
        name = self.rng.choice(["page /market search", "page /market filters",
                                "page one listing", "page one listing", "api text search",
                                "api filters", "api one listing", "api page 200 (cursor)",
                                "page /market page 200"])
        return kinds[name]()


def cache_stats(port: int) -> dict:
    """Cached-read hits and misses summed over the gunicorn workers (asked until each of
    the two answered or 400 tries: one worker can win every accept when idle)."""
    seen = {}
    for _ in range(400):
        answer = requests.get(f"http://127.0.0.1:{port}/bare/cache-stats", timeout=5).json()
        seen[answer["pid"]] = answer
        if len(seen) >= 2:
            break
    return {key: sum(worker[key] for worker in seen.values())
            for key in ("hits", "shared", "kept", "misses")}


def summary(latencies: list[float], errors: int, seconds: float) -> dict:
    ordered = sorted(latencies) or [0.0]

    def pct(p):
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    return {"requests": len(latencies), "rps": len(latencies) / seconds, "p50": pct(50),
            "p95": pct(95), "p99": pct(99), "errors": errors}


WARM_UP = 10


async def single(port: int, make, count: int) -> dict:
    """`count` requests one after another, after `WARM_UP` unmeasured ones: each worker
    compiles a statement shape and a template once (~100 ms), and with two workers a
    cold one could otherwise land among the measured requests, twice in 40."""
    latencies, errors = [], 0
    for n in range(count + WARM_UP):
        method, path, headers, *body = make()
        status, elapsed = await request(port, method, path, headers, *body)
        if n >= WARM_UP:
            latencies.append(elapsed)
            errors += status >= 300 or status == 0
    return summary(latencies, errors, sum(latencies) / 1000)


async def load(port: int, make, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = [0]
    codes: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def client():
        while time.perf_counter() < deadline:
            method, path, headers, *body = make()
            try:
                status, elapsed = await request(port, method, path, headers, *body)
            except OSError:
                errors[0] += 1
                continue
            latencies.append(elapsed)
            if status >= 300 or status == 0:
                errors[0] += 1
                codes[status] = codes.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    result = summary(latencies, errors[0], time.perf_counter() - started)
    result["codes"] = codes
    result["latencies"] = latencies
    return result


def solver_processes() -> list[int]:
    """The ids of the processes solving a background run: the engine's command line
    (`python -m matching_engine solve - --nice N`, app/matching/engine_process.py), found
    in /proc (this bench runs on Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                words = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"matching_engine" in b" ".join(words) and b"solve" in words:
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def during_run(port: int, make, clients: int, seconds: float, blocks: int) -> dict:
    """The mixed browse while a run solves, against the same browse with the run paused.

    This machine's speed drifts by more than the solver's effect between loads a few
    minutes apart (the same idle browse: 116–162 req/s in 30 s windows), so a run measured
    after the idle phase confounds the two. Here one run solves throughout and the load
    alternates, in `2 * blocks` blocks of `seconds / blocks`, between the solver running
    and the solver stopped (SIGSTOP: it uses no CPU, as if there were no run), in the
    order idle-run, run-idle, … so that a steady drift falls on both sides alike. The
    latencies of each side are pooled."""
    # The run says "solving" as its job starts the engine's process: give it time to appear.
    for _ in range(100):
        pids = solver_processes()
        if pids:
            break
        time.sleep(0.1)
    else:
        raise SystemExit("the run's solving process was not found within 10 s")
    block = seconds / blocks
    asyncio.run(load(port, make, clients, 10))  # unmeasured: the run has just started
    pooled = {"paused": [], "solving": []}
    errors = {"paused": 0, "solving": 0}
    used = 0.0
    try:
        for n in range(blocks):
            for side in (("paused", "solving") if n % 2 == 0 else ("solving", "paused")):
                for pid in pids:
                    os.kill(pid, signal.SIGSTOP if side == "paused" else signal.SIGCONT)
                before = cpu_seconds(pids)
                result = asyncio.run(load(port, make, clients, block))
                used += cpu_seconds(pids) - before
                pooled[side] += result["latencies"]
                errors[side] += result["errors"]
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    sides = {side: summary(pooled[side], errors[side], seconds) for side in pooled}
    sides["solver_cpu_seconds"] = used
    return sides


EXPLAIN_FILTERS = {
    "api text search": browse.ListingFilters(text="dementia or diabetes"),
    "page /market search": browse.ListingFilters(text="dementia or diabetes"),
    "api filters": browse.ListingFilters(kind="offer", currency="staff"),
    "page /market filters": browse.ListingFilters(kind="offer", currency="staff"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=50_000)
    parser.add_argument("--organisations", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60, help="the mixed load")
    parser.add_argument("--api-seconds", type=float, default=30)
    parser.add_argument("--bare-seconds", type=float, default=15)
    parser.add_argument("--single", type=int, default=40, help="requests per kind, alone")
    parser.add_argument("--run-seconds", type=float, default=60,
                        help="the mixed load again while a matching run solves, as long "
                        "again with the run paused (0: skip)")
    parser.add_argument("--run-blocks", type=int, default=4,
                        help="alternations of the run solving and paused")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    admin_url = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    url = admin_url.rsplit("/", 1)[0] + f"/{DB_NAME}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    started = time.perf_counter()
    build(url, args.organisations, args.listings)
    print(f"built {args.organisations:,} organisations and {args.listings:,} listings "
          f"in {time.perf_counter() - started:.0f} s")
    info = prepare_clients(url)
    port = free_port()
    log = Path("/tmp") / f"bench-web-gunicorn-{port}.log"
    server = worker = None
    try:
        server = start_gunicorn(url, port, log)
        worker = start_job_worker(url, port, Path("/tmp") / f"bench-web-worker-{port}.log")
        scenario = Scenario(info, login_cookie(port, info["email"]), random.Random(7))
        print(f"\nOne client alone ({args.single} requests per kind; ms)")
        print(f"{'kind':28} {'p50':>7} {'p95':>7} {'errors':>6}")
        alone = {}
        for name, make in scenario.kinds().items():
            alone[name] = asyncio.run(single(port, make, args.single))
            s = alone[name]
            print(f"{name:28} {s['p50']:7.1f} {s['p95']:7.1f} {s['errors']:6d}")
        slowest = max((k for k in alone if k in EXPLAIN_FILTERS), key=lambda k: alone[k]["p95"])
        print(f"\nEXPLAIN ANALYZE of the listing query behind the slowest listing kind "
              f"({slowest}):")
        print(explain(url, EXPLAIN_FILTERS[slowest]))

        print(f"\n{args.clients} clients, no think time (ms)")
        print(f"{'load':10} {'seconds':>7} {'req/s':>8} {'p50':>7} {'p95':>7} {'p99':>7} "
              f"{'errors':>6} {'req/s vs bare':>14}")
        phases = [("bare", scenario.kinds()["bare endpoint"], args.bare_seconds),
                  ("api", scenario.api_mix, args.api_seconds),
                  ("mixed", scenario.mixed, args.seconds)]
        results = {}
        for name, make, seconds in phases:
            before = cache_stats(port)
            results[name] = asyncio.run(load(port, make, args.clients, seconds))
            after = cache_stats(port)
            hits, shared, kept, misses = (after[k] - before[k]
                                          for k in ("hits", "shared", "kept", "misses"))
            r = results[name]
            ratio = r["rps"] / results["bare"]["rps"] if results["bare"]["rps"] else 0
            print(f"{name:10} {seconds:7.0f} {r['rps']:8.1f} {r['p50']:7.1f} {r['p95']:7.1f} "
                  f"{r['p99']:7.1f} {r['errors']:6d} {ratio:14.3f}"
                  + (f"  cached reads: {hits:,} hits, {shared:,} from the other worker, "
                     f"{kept:,} kept across new listings, {misses:,} misses "
                     f"({(hits + shared + kept) / (hits + shared + kept + misses):.0%} "
                     f"from memory)" if hits + shared + kept + misses else "")
                  + (f"  codes {r['codes']}" if r["codes"] else ""))
        if args.run_seconds:
            run_id = start_run(port, info, int(args.run_seconds * 3 + 90))
            before = cache_stats(port)
            during = during_run(port, scenario.mixed, args.clients, args.run_seconds,
                                args.run_blocks)
            after = cache_stats(port)
            run = run_status(port, info, run_id)
            hits, shared, kept, misses = (after[k] - before[k]
                                          for k in ("hits", "shared", "kept", "misses"))
            paused, solving = during["paused"], during["solving"]
            for name, r in (("run paused", paused), ("run solves", solving)):
                print(f"{name:10} {args.run_seconds:7.0f} {r['rps']:8.1f} {r['p50']:7.1f} "
                      f"{r['p95']:7.1f} {r['p99']:7.1f} {r['errors']:6d}")
            print(f"  mixed browse in {2 * args.run_blocks} alternating blocks while run "
                  f"{run_id} solved (it ended {run['status']}: {run['progress']}); "
                  f"MATCHING_NICE {os.environ.get('MATCHING_NICE', 10)}; the solver used "
                  f"{during['solver_cpu_seconds']:.1f} s of CPU in its "
                  f"{args.run_seconds:.0f} s; p99 {solving['p99'] / paused['p99']:.2f}x "
                  f"the paused blocks, {solving['p99'] / results['mixed']['p99']:.2f}x the "
                  f"idle phase above; cached reads {hits:,} hits, {shared:,} from the "
                  f"other worker, {kept:,} kept, {misses:,} misses")
            results["run paused"], results["run solves"] = paused, solving
        single_p95 = max(alone[k]["p95"] for k in alone if k != "bare endpoint")
        print("\nTargets:")
        print(f"  single client p95 <= {TARGETS['single_p95_ms']} ms: worst {single_p95:.1f} ms")
        print(f"  50 clients API >= {TARGETS['api_rps']} req/s with p99 <= "
              f"{TARGETS['api_p99_ms']} ms: {results['api']['rps']:.0f} req/s, "
              f"p99 {results['api']['p99']:.0f} ms")
        print(f"  mixed p99 <= {TARGETS['mixed_p99_ms']} ms: {results['mixed']['p99']:.0f} ms")
        if "run solves" in results:
            print(f"  mixed p99 during a run <= 1.5x idle (the paused blocks): "
                  f"{results['run solves']['p99'] / results['run paused']['p99']:.2f}x")
        print(f"  errors: {sum(r['errors'] for r in results.values())}")
    finally:
        if worker is not None:
            # Mid-run: a first SIGINT asks for a warm shutdown (after the run), a second
            # for a cold one, which kills the work horse too (it runs in its own session).
            for _ in range(2):
                worker.send_signal(signal.SIGINT)
                time.sleep(1)
            worker.wait(timeout=30)
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if not args.keep_db:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
