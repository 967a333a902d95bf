"""What knowing who is asking costs a request, and what a password guess costs the guesser.

    .venv/bin/python bench/auth_overhead.py [--users 2000] [--requests 1000]

A SQLite catalog with `--users` accounts, each with an API key and 50 events. In one process, one
Flask app answers GET /api/v1/users/<id>/history (a user-scoped read: identify, check, one page of
events) for random users, asked four ways in turn: with the site's admin token (a constant-time
compare, no lookup: the baseline), with the user's own API key (SHA-256 and one indexed SELECT),
with a signed-in session cookie (signature check and a SELECT of the user), and with no credentials
(refused at once). Then sign-in: a right and a wrong password through POST /login (scrypt, slow on
purpose), and the refusal once the per-address limit is reached.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from catalog import Catalog, Event, User, upgrade  # noqa: E402
from settings import Settings  # noqa: E402
from web import accounts, create_app  # noqa: E402

TOKEN = "bench-admin-token"
PASSWORD = "bench password 1"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ms = np.asarray(samples) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def timed(client, path: str, **kwargs) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(path, **kwargs)
    return time.perf_counter() - started, response.status_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reelscope-auth-"))
    settings = replace(Settings(data_dir=work / "data", database_url=""), admin_token=TOKEN,
                       signin_limit="1000000 per minute")
    upgrade(settings.catalog_url)
    catalog = Catalog(settings.catalog_url)
    keys = {}
    with catalog.session() as s:
        # accounts made in bulk: one scrypt hash for all (hashing each would time the set-up, not the requests)
        shared_hash = accounts._password_hash(PASSWORD)
        s.execute(insert(User), [{"name": f"user{n}", "username": f"user{n}", "password_hash": shared_hash,
                                  "is_admin": False, "session_epoch": 0} for n in range(args.users)])
        s.commit()
        ids = [u.id for u in s.query(User).order_by(User.id)]
        s.execute(insert(Event), [{"user_id": u, "type": "search", "query": f"query {n}"}
                                  for u in ids for n in range(50)])
        s.commit()
        for user in s.query(User):
            keys[user.id] = accounts.create_key(s, user, "bench")[1]
    app = create_app(settings)
    rng = np.random.default_rng(1)
    picks = [int(ids[i]) for i in rng.integers(0, len(ids), args.requests)]

    signed_in = app.test_client()
    signed_in.get("/login")
    with signed_in.session_transaction() as s:
        csrf = s["csrf"]
    signed_in.post("/login", data={"username": "user0", "password": PASSWORD, "csrf_token": csrf})
    ways = {
        "admin token (baseline)": lambda c, u: timed(c, f"/api/v1/users/{u}/history",
                                                     headers={"Authorization": f"Bearer {TOKEN}"}),
        "own API key": lambda c, u: timed(c, f"/api/v1/users/{u}/history",
                                          headers={"Authorization": f"Bearer {keys[u]}"}),
        "session cookie": lambda c, u: timed(signed_in, f"/api/v1/users/{ids[0]}/history"),
        "no credentials (401)": lambda c, u: timed(c, f"/api/v1/users/{u}/history"),
    }
    client = app.test_client()
    for way in ways.values():  # warm: first requests compile templates and fill caches
        for u in picks[:20]:
            way(client, u)
    results = {name: [] for name in ways}
    statuses = {name: set() for name in ways}
    for u in picks:  # interleaved, so drift in the machine's load is shared by all four
        for name, way in ways.items():
            elapsed, status = way(client, u)
            results[name].append(elapsed)
            statuses[name].add(status)
    base = statistics.median(results["admin token (baseline)"])
    print(f"GET /api/v1/users/<id>/history, {args.requests} requests each, {args.users} accounts with keys")
    print(f"{'asked with':26s} {'p50 ms':>8s} {'p99 ms':>8s} {'x baseline':>10s}  statuses")
    for name, samples in results.items():
        p50, p99 = percentiles(samples)
        print(f"{name:26s} {p50:8.2f} {p99:8.2f} {statistics.median(samples) / base:10.2f}  {sorted(statuses[name])}")

    guesser = app.test_client()
    guesser.get("/login")
    with guesser.session_transaction() as s:
        csrf = s["csrf"]
    sign_ins = {"right password": [], "wrong password": [], "unknown user": []}
    for _ in range(10):
        for name, (user, password) in {"right password": ("user1", PASSWORD), "wrong password": ("user1", "nope"),
                                       "unknown user": ("nobody", "nope")}.items():
            started = time.perf_counter()
            guesser.post("/login", data={"username": user, "password": password, "csrf_token": csrf})
            sign_ins[name].append(time.perf_counter() - started)
            with guesser.session_transaction() as s:
                csrf = s.setdefault("csrf", csrf)
    print("\nPOST /login, 10 each (scrypt: slow on purpose; an unknown name costs what a known one does)")
    for name, samples in sign_ins.items():
        print(f"{name:26s} {statistics.median(samples) * 1000:8.1f} ms")
    limited = create_app(replace(settings, signin_limit="10 per minute")).test_client()
    limited.get("/login")
    with limited.session_transaction() as s:
        csrf = s["csrf"]
    codes = [limited.post("/login", data={"username": "user1", "password": "nope", "csrf_token": csrf}).status_code
             for _ in range(12)]
    started = time.perf_counter()
    refused = limited.post("/login", data={"username": "user1", "password": PASSWORD, "csrf_token": csrf})
    print(f"with the default limit: attempts 1-12 answered {codes}; then a right password gets "
          f"{refused.status_code} in {(time.perf_counter() - started) * 1000:.1f} ms (no hash computed)")
    catalog.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
