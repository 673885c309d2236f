"""Built-in baselines on TF-IDF features (scikit-learn), trained on train, scored on the rest: logistic regression
for classes, ridge regression for a numeric target.

On a multi-label column the logistic regression is one-vs-rest (scikit-learn's OneVsRestClassifier).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from specc.components import Evaluator, EvaluatorParams

if TYPE_CHECKING:
    from specc.evaluation import LabelledRows


class TfidfParams(EvaluatorParams):
    """The vectorizer's settings (scikit-learn's names)."""

    analyzer: Literal["word", "char_wb"] = Field(
        "word", description=("Word n-grams, or character n-grams within words (for languages written without spaces).")
    )
    ngram_range: tuple[int, int] = Field((1, 1), description="Smallest and largest n-gram.")
    min_df: int = Field(1, ge=1, description="Ignore n-grams in fewer training rows than this.")
    max_features: int | None = Field(100_000, ge=1, description="Keep this many most frequent n-grams (null: all).")

    @model_validator(mode="after")
    def _ngrams(self) -> TfidfParams:
        low, high = self.ngram_range
        if not 1 <= low <= high:
            raise ValueError(
                f"ngram_range {list(self.ngram_range)}: give [smallest, largest] with 1 <= smallest "
                f"<= largest, e.g. [1, 2]"
            )
        return self


class TfidfLogRegParams(TfidfParams):
    """The vectorizer's and the classifier's settings (scikit-learn's names)."""

    C: float = Field(1.0, gt=0, description="Inverse regularization strength.")
    class_weight: Literal["balanced"] | None = Field(
        "balanced",
        description=(
            "`balanced` weighs classes inversely to their frequency (macro scores count every class alike); "
            "null weighs every row alike."
        ),
    )
    max_iter: int = Field(1000, ge=1, description="Most iterations of the newton-cg solver.")


class TfidfRidgeParams(TfidfParams):
    """The vectorizer's and the regressor's settings (scikit-learn's names)."""

    alpha: float = Field(1.0, gt=0, description="Regularization strength (L2).")


def _sklearn(evaluator: Evaluator) -> None:
    """Fail naming the extra to install when scikit-learn is missing."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise evaluator.fail("needs scikit-learn; install it with `pip install 'specc-sft[evaluate]'`") from None


def _features(evaluator: Evaluator, params: TfidfParams, train: LabelledRows) -> tuple[Any, Any]:
    """The vectorizer fitted on the training texts, and their features."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        analyzer=params.analyzer,
        ngram_range=tuple(params.ngram_range),
        min_df=params.min_df,
        max_features=params.max_features,
        sublinear_tf=True,
        dtype=np.float64,
    )
    try:
        return vectorizer, vectorizer.fit_transform(train.texts)
    except ValueError as exc:  # an empty vocabulary: every text blank or all n-grams filtered out
        raise evaluator.fail(f"no features from split '{params.train}': {exc}; lower min_df or check `text:`") from None


class TfidfLogReg(Evaluator):
    """TF-IDF + logistic regression: a bag-of-words baseline that says how much the words alone tell."""

    name = "tfidf-logreg"
    version = 1
    Params: ClassVar[type[EvaluatorParams]] = TfidfLogRegParams
    params: TfidfLogRegParams

    def predict(self, train: LabelledRows, names: list[str], splits: dict[str, LabelledRows]) -> dict[str, Any]:
        """Fit on `train`, predict each split.

        newton-cg on one BLAS thread: the same sums in the same order on every machine (and no
        oversubscribed threads on a busy one), a few times faster here than lbfgs for the same optimum.
        """
        _sklearn(self)
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        params = self.params
        vectorizer, features = _features(self, params, train)
        model = LogisticRegression(
            C=params.C,
            class_weight=params.class_weight,
            max_iter=params.max_iter,
            solver="newton-cg",
            random_state=self.context.seed % 2**32,
        )
        if train.labels.ndim == 2:  # multi-label: one binary model per label
            from sklearn.multiclass import OneVsRestClassifier

            model = OneVsRestClassifier(model)
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Label not .* is present in all training examples")
            model.fit(features, train.labels)
            return {split: model.predict(vectorizer.transform(rows.texts)) for split, rows in splits.items()}


class TfidfRidge(Evaluator):
    """TF-IDF + ridge regression: a bag-of-words baseline for a numeric target (`task: text-regression`)."""

    name = "tfidf-ridge"
    version = 1
    Params: ClassVar[type[EvaluatorParams]] = TfidfRidgeParams
    params: TfidfRidgeParams

    def regression(self) -> bool:
        """Always: it predicts a number per row."""
        return True

    def predict(self, train: LabelledRows, names: list[str], splits: dict[str, LabelledRows]) -> dict[str, Any]:
        """Fit on `train`'s targets, predict each split (one BLAS thread: the same sums on every machine)."""
        _sklearn(self)
        from sklearn.linear_model import Ridge
        from threadpoolctl import threadpool_limits

        vectorizer, features = _features(self, self.params, train)
        model = Ridge(alpha=self.params.alpha, solver="sparse_cg", tol=1e-6)
        with threadpool_limits(1):
            model.fit(features, train.labels)
            return {split: model.predict(vectorizer.transform(rows.texts)) for split, rows in splits.items()}
