from persona_bench.persona_gen.corpus import corpus_texts
from persona_bench.persona_gen.vocab import FACTS, QUESTIONS, first_names


def test_corpus_covers_vocabulary_and_is_deterministic():
    texts = corpus_texts(descriptions=50)
    joined = "\n".join(texts)
    assert all(v in joined for values in FACTS.values() for v in values)
    assert all(q in texts for qs in QUESTIONS.values() for q in qs)
    assert all(n in joined for n in first_names())
    assert texts == corpus_texts(descriptions=50)
