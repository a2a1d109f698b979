"""Cached market reads shared between worker processes through a real Redis
(app.core.read_cache, app.core.shared_answers): what one process read, another serves
without the database, but never after a change, never another database's, and never
when Redis is down."""

from __future__ import annotations

import uuid
from datetime import date
from enum import Enum

import pytest
from redis import Redis

from app import create_app
from app.core import read_cache
from app.core import shared_answers as shared
from app.extensions import db
from config import TestingConfig
from tests.conftest import free_port
from tests.statements import recorded

LIST = "/api/v1/listings?per_page=50&q=nurse"


@pytest.fixture
def prefix(redis_url):
    """Keys of this test only, deleted afterwards."""
    name = f"cc:test-read:{uuid.uuid4().hex}:"
    yield name
    redis = Redis.from_url(redis_url)
    for key in redis.scan_iter(f"{name}*"):
        redis.delete(key)
    redis.close()


def _share(application, url: str, prefix: str) -> None:
    application.config.update(READ_CACHE_REDIS_URL=url, READ_CACHE_PREFIX=prefix)
    application.extensions.pop("read_cache_shared", None)


@pytest.fixture
def other(app, redis_url, prefix):
    """A second worker process's app: the same database and settings, its own memory."""
    _share(app, redis_url, prefix)
    second = create_app(TestingConfig,
                        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                        READ_CACHE_REDIS_URL=redis_url, READ_CACHE_PREFIX=prefix)
    yield second
    with second.app_context():
        db.session.remove()
        db.engine.dispose()


def _get(application, url: str, headers: dict):
    """A request in `application` (its own app context), with the statements it ran."""
    with application.app_context():
        seen, response = recorded(lambda: application.test_client().get(url, headers=headers))
        stats = read_cache.stats("market")
    assert response.status_code == 200, response.get_json()
    return response.get_json(), [s for s in seen if "FROM listings" in s], stats


def test_an_answer_read_by_one_process_is_served_by_another(app, other, market, api_as):
    headers = api_as("member")
    db.session.commit()
    first, first_reads, _ = _get(app, LIST, headers)
    assert first_reads and first["items"][0]["title"] == "Nurse days"
    second, second_reads, stats = _get(other, LIST, headers)
    assert second == first
    assert second_reads == []  # no search, no count, no rows: Redis had the answer
    assert stats["shared"] == 1 and stats["misses"] == 0
    _, third_reads, stats = _get(other, LIST, headers)  # now in its own memory
    assert third_reads == [] and stats["hits"] == 1


def test_a_change_in_one_process_is_seen_by_the_other(app, other, market, api_as):
    headers, poster = api_as("member"), api_as("other_member")
    db.session.commit()
    _get(app, LIST, headers)
    _get(other, LIST, headers)
    with app.app_context():
        posted = app.test_client().post("/api/v1/listings", headers=poster, json={
            "kind": "offer", "currency": "staff", "category": "registered nurse",
            "title": "Night nurse cover", "quantity": 2, "remote": True})
    assert posted.status_code == 201, posted.get_json()
    answer, reads, _ = _get(other, LIST, headers)
    assert "Night nurse cover" in [item["title"] for item in answer["items"]]
    assert reads  # read afresh: the shared answer was of the older version


def test_the_signed_in_user_is_not_shared(app, other, market, api_as):
    headers = api_as("member")
    db.session.commit()
    _get(app, LIST, headers)
    with other.app_context():
        other.test_client().get(LIST, headers=headers)
        users = read_cache.stats("users")
    assert users["shared"] == 0 and users["misses"] >= 1


def test_with_redis_down_answers_are_kept_per_process(app, market, api_as, prefix, caplog):
    port = free_port()  # nothing listens there
    _share(app, f"redis://127.0.0.1:{port}/0", prefix)
    headers = api_as("member")
    db.session.commit()
    cold, cold_reads, _ = _get(app, LIST, headers)
    warm, warm_reads, stats = _get(app, LIST, headers)
    assert cold_reads and warm_reads == [] and warm == cold
    assert stats["hits"] == 1
    assert "Redis failed" in caplog.text


def test_another_database_does_not_share(app, other, market, api_as, tmp_path, redis_url,
                                         prefix):
    with app.app_context():
        namespace = shared.shared_answers(60).namespace
    copy = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/other.db",
                      READ_CACHE_REDIS_URL=redis_url, READ_CACHE_PREFIX=prefix)
    with copy.app_context():
        db.session.execute(db.text("SELECT 1"))
        elsewhere = shared.shared_answers(60)
        db.session.remove()
        db.engine.dispose()
    assert elsewhere is not None and elsewhere.namespace != namespace
    with other.app_context():
        assert shared.shared_answers(60).namespace == namespace  # same database: shared


def test_an_in_memory_database_is_never_shared(redis_url, prefix):
    memory = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://",
                        READ_CACHE_REDIS_URL=redis_url, READ_CACHE_PREFIX=prefix)
    with memory.app_context():
        assert shared.shared_answers(60) is None


class _Colour(Enum):
    RED = "red"


def test_only_keys_of_plain_values_are_shared():
    encode = shared._encode
    assert encode(("page", ("offer", None, 3, True, 1.5), date(2026, 12, 3))) == \
        "('page',('offer',None,3,True,1.5),d2026-12-03)"
    assert encode((_Colour.RED,)) == encode(("red",))
    assert encode(("page", object())) is None  # its text would differ between processes
    assert encode(("a", "b")) != encode(("a,b",))
