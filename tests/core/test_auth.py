import time

import jwt
import pytest

from randomchat import auth
from randomchat.errors import AuthError

pytestmark = pytest.mark.pure

SECRET = "k" * 40


def token(exp: float, sub: str = "u1") -> str:
    return jwt.encode({"sub": sub, "username": "Ann", "exp": int(exp)}, SECRET, algorithm="HS256")


def test_cached_token_is_refused_once_it_expires() -> None:
    verifier = auth.Verifier(SECRET)
    exp = time.time() + 100
    t = token(exp)
    assert verifier.verify(t).user_id == "u1"
    assert verifier.verify(t, now=exp - 1).username == "Ann"  # from the cache
    with pytest.raises(AuthError) as info:
        verifier.verify(t, now=exp + 1)
    assert info.value.reason == "expired" and len(verifier) == 0


def test_bad_tokens_are_never_cached_and_the_cache_is_bounded() -> None:
    verifier = auth.Verifier(SECRET, max_size=2)
    bad = jwt.encode({"sub": "x", "exp": int(time.time()) + 100}, "z" * 40, algorithm="HS256")
    for _ in range(2):
        with pytest.raises(AuthError):
            verifier.verify(bad)
    assert len(verifier) == 0
    for n in range(3):
        verifier.verify(token(time.time() + 100, sub=f"u{n}"))
    assert len(verifier) == 2


def test_username_falls_back_to_stranger() -> None:
    for bad in ("\x00", "a\u202eb"):  # a control character, a bidi override
        t = jwt.encode({"sub": "u", "exp": int(time.time()) + 60, "username": bad}, SECRET)
        assert auth.verify(t, SECRET).username == "Stranger"


def test_username_keeps_joiners_and_direction_marks() -> None:
    name = "\U0001f469\u200d\U0001f4bb \u05d3\u05e0\u05d4\u200f"
    t = jwt.encode({"sub": "u", "exp": int(time.time()) + 60, "username": name}, SECRET)
    assert auth.verify(t, SECRET).username == name
