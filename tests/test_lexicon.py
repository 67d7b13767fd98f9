"""The lexicon's own rules (bot/lexicon.py): region coverage and the size words' slot values."""
from __future__ import annotations

import pytest

from bot.lexicon import load_lexicon, parse_lexicon
from bot.lexicon_artifacts import entity_values


def test_a_region_is_covered_by_documents_above_or_below_it_never_beside_it():
    lex = load_lexicon()
    assert lex.is_covered("增城区", ["增城区"])
    assert lex.is_covered("增城区", ["广州市"])      # the city's documents apply to its districts
    assert lex.is_covered("广州市", ["增城区"])      # a district's are among the city's
    assert lex.is_covered("高栏港", ["珠海市"])      # two levels up
    assert not lex.is_covered("天河区", ["增城区"])  # a sibling district's do not
    assert not lex.is_covered("鄂州市", ["广州市", "珠海市"])
    assert not lex.is_covered("武汉", ["广州市"])    # a place the lexicon does not know


def test_every_size_word_the_nlu_can_fill_expands_to_sizes_and_short_forms_take_the_full_name():
    """The size slot holds what the lookups map a surface to; the actions expand it back
    with the lexicon, so every such value must expand ("小微" is slot 小微企业, not 小微)."""
    lex = load_lexicon()
    values = dict(entity_values()["size"])
    for surface, value in values.items():
        assert lex.expand_size(value) == lex.expand_size(surface) != (), surface
    for short, full in lex.size_short_forms.items():
        assert values[short] == full


def test_a_short_form_of_a_group_that_does_not_exist_is_refused():
    raw = {"regions": [], "industries": [], "topics": [],
           "sizes": {"canonical": ["小型", "微型"], "aliases": {}, "groups": {"小微": "小微企业"}}}
    with pytest.raises(ValueError, match="小微企业"):
        parse_lexicon(raw)
