from persona_bench.matching import contains_match, exact_match, normalize


def test_normalize_case_punctuation_articles_whitespace():
    assert normalize("  The  Acme Robotics!! ") == "acme robotics"
    assert normalize("an Architect.") == "architect"


def test_exact_and_contains():
    assert exact_match("Lisbon.", "lisbon")
    assert not exact_match("Born in Lisbon", "Lisbon")
    assert contains_match("Born in Lisbon, 1970", "Lisbon")
    assert not contains_match("Lisbonne", "Lisbon")
    assert not contains_match("anything", "")
