"""A search's options stored as one field (``store.options_codec``): every value, and
every field the dataclass has (languages, added after the encoding, included), comes
back equal."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from randomchat.protocol import SearchOptions
from randomchat.store import options_codec

pytestmark = pytest.mark.pure


@given(st.builds(SearchOptions))
def test_search_options_round_trip(options: SearchOptions) -> None:
    assert options_codec.decode(options_codec.encode(options)) == options


def test_a_field_the_stored_value_lacks_takes_its_default() -> None:
    assert options_codec.decode("") == SearchOptions()
    assert options_codec.decode('{"strict":true}') == SearchOptions(strict=True)
