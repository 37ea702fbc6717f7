"""Check-worthiness scoring (index.intel.checkworthy) without the model: feature layout, the shipped
weights file, and the logistic score computed by hand on a tiny model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from index.intel import checkworthy


def test_lexical_features_count_cues():
    f = checkworthy.lexical_features(["We cut taxes by 40% in 2019, saving $3 billion.", "Thank you."])
    names = checkworthy.LEXICAL_NAMES
    row = dict(zip(names, f[0], strict=True))
    assert row["n_percent"] == pytest.approx(math.log1p(1))
    assert row["n_year"] == pytest.approx(math.log1p(1))
    assert row["n_money"] > 0 and row["n_number"] > 0
    assert dict(zip(names, f[1], strict=True))["n_opinion"] == pytest.approx(math.log1p(1))  # "thank"
    assert f[0, 0] == pytest.approx(math.log1p(10))  # ten whitespace tokens


def test_score_is_the_logistic_of_the_linear_model_by_hand():
    n_feat = 2 + len(checkworthy.LEXICAL_NAMES)
    coef = np.zeros(n_feat)
    coef[0], coef[1] = 2.0, -1.0
    model = {"coef": coef, "intercept": 0.5}
    emb = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    s = checkworthy.score(["a", "b"], emb, model)
    assert s[0] == pytest.approx(1 / (1 + math.exp(-2.5)))
    assert s[1] == pytest.approx(1 / (1 + math.exp(0.5)))


def test_width_mismatch_is_an_error():
    model = {"coef": np.zeros(5), "intercept": 0.0}
    with pytest.raises(ValueError, match="features"):
        checkworthy.score(["a"], np.zeros((1, 3), dtype=np.float32), model)
    with pytest.raises(ValueError, match="embeddings"):
        checkworthy.features(["a", "b"], np.zeros((1, 3)))


def test_shipped_weights_match_the_embedding_width_and_record_how_they_were_made():
    raw = json.loads(checkworthy.WEIGHTS.read_text(encoding="utf-8"))
    assert len(raw["coef"]) == 384 + len(checkworthy.LEXICAL_NAMES)
    assert raw["lexical_features"] == checkworthy.LEXICAL_NAMES
    assert "train_checkworthiness" in raw["command"]
    assert 0 < raw["threshold"] < 1 and 0 <= raw["cv_f1_yes"] <= 1 and 0 <= raw["cv_dev_f1_yes"] <= 1
    assert "cross-validation" in raw["chosen_by"] and "dev" in raw["trained_on"]
    s = checkworthy.score(["x"], np.zeros((1, 384), dtype=np.float32))
    assert 0 < s[0] < 1


def test_ngrams_like_scikit_learn_word_analyzer():
    assert checkworthy.ngrams("We cut 40% of a TAX.") == [
        "we",
        "cut",
        "40",
        "of",
        "tax",
        "we cut",
        "cut 40",
        "40 of",
        "of tax",
    ]


def test_tfidf_block_by_hand():
    tfidf = {
        "n_max": 2,
        "weight": 1.0,
        "vocab": {"aa": 0, "bb": 1, "aa bb": 2},
        "idf": np.ones(3),
        "coef": np.array([1.0, 0.0, 0.0]),
    }
    got = checkworthy.tfidf_scores(["aa bb", "zz", "aa aa"], tfidf)
    # "aa bb": three terms of weight 1 -> norm sqrt(3); "zz": no term; "aa aa": tf 2 -> 1 + ln 2, alone -> 1
    assert got == pytest.approx([1 / math.sqrt(3), 0.0, 1.0])


def test_tfidf_block_equals_scikit_learn():
    from sklearn.feature_extraction.text import TfidfVectorizer

    corpus = [
        "Unemployment rose 3 percent last year.",
        "We cut taxes, we cut spending, and we cut the deficit.",
        "Thank you, thank you very much.",
        "The deficit rose under his plan.",
    ]
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True).fit(corpus)
    coef = np.random.default_rng(0).normal(size=len(vec.vocabulary_))
    tfidf = {"n_max": 2, "weight": 3.0, "vocab": vec.vocabulary_, "idf": vec.idf_, "coef": coef}
    texts = [*corpus, "taxes rose and rose", "nothing known here"]
    expected = 3.0 * (vec.transform(texts) @ coef)
    assert checkworthy.tfidf_scores(texts, tfidf) == pytest.approx(expected)
