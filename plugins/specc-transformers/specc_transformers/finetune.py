"""The `transformers-finetune` baseline: fine-tune a small sequence classifier (or regressor) for some steps, score the rest.

Training runs with transformers' `Trainer` on the CPU, seeded from the step's seed, on one torch
thread (the same sums in the same order on every machine), without reporting integrations or
checkpoints, in a temporary folder. The classification head is made anew for the data set's
classes when the model has other ones; with `problem_type: regression` it is one output trained with
mean squared error (transformers' `problem_type="regression"`). On a multi-label column (label sets) the
head has one output per label, trained with binary cross-entropy (`problem_type: multi_label_classification`),
and a label is predicted where its logit is above 0 (probability above 0.5).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from specc.plugin import Evaluator, EvaluatorParams, quiet_transformers
from specc_transformers.models import ModelLocation, Revision, UsesModel

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from specc.plugin import LabelledRows


class FineTuneParams(EvaluatorParams):
    """The model and how long and how fast to train it."""

    model: ModelLocation
    revision: Revision = None
    steps: int = Field(50, ge=1, description="Optimizer steps (batches) to train for.")
    batch_size: int = Field(8, ge=1, description="Rows per training batch.")
    learning_rate: float = Field(5e-5, gt=0, description="AdamW's learning rate (linear decay to 0).")
    weight_decay: float = Field(0.0, ge=0, description="AdamW's weight decay.")
    max_length: int = Field(128, ge=2, description="Texts are cut to this many tokens.")
    # left out of the fingerprint when unset, so that specs without it keep their locks
    problem_type: Literal["single_label_classification", "multi_label_classification", "regression"] | None = Field(
        None,
        exclude_if=lambda value: value is None,
        description=(
            "transformers' loss: cross-entropy over classes (single_label_classification), binary cross-entropy "
            "per label (multi_label_classification, for a column of label lists), or a numeric target (regression, "
            "with `task: text-regression`: one output, mean squared error loss, scored with MSE, RMSE, MAE, R² and "
            "Spearman); unset: classes or label lists, as the label column holds."
        ),
    )


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch on `n` threads, restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class FineTune(UsesModel, Evaluator):
    """Fine-tune a transformers sequence classifier given by folder or Hub repo, then predict the scored splits."""

    name = "transformers-finetune"
    version = 1
    Params = FineTuneParams
    params: FineTuneParams

    def regression(self) -> bool:
        """With `problem_type: regression`."""
        return self.params.problem_type == "regression"

    def encode(self, tokenizer: PreTrainedTokenizerBase, rows: LabelledRows) -> list[dict[str, Any]]:
        """Rows as the Trainer reads them: token ids, attention mask and label (a class id, a float target, or a
        0/1 float per label for sets)."""
        encoded = tokenizer(rows.texts, truncation=True, max_length=self.params.max_length)
        regression = self.regression()
        return [
            {
                "input_ids": ids,
                "attention_mask": mask,
                "labels": float(label) if regression else label.astype(float).tolist() if label.ndim else int(label),
            }
            for ids, mask, label in zip(encoded["input_ids"], encoded["attention_mask"], rows.labels)
        ]

    def problem(self, train: LabelledRows) -> str:
        """transformers' problem_type for the labels: multi-label for label sets; `problem_type:` must agree."""
        if self.regression():
            return "regression"
        found = "multi_label_classification" if train.labels.ndim == 2 else "single_label_classification"
        if self.params.problem_type not in (None, found):
            held = "lists of labels" if train.labels.ndim == 2 else "one label per row"
            raise self.fail(
                f"problem_type is {self.params.problem_type} but column '{self.params.label}' holds {held}; "
                f"set problem_type: {found}, or leave it out"
            )
        return found

    def predict(self, train: LabelledRows, names: list[str], splits: dict[str, LabelledRows]) -> dict[str, Any]:
        """Train on `train` for `steps` steps, then the predicted class (or number) of every row of each split."""
        from transformers import (
            AutoModelForSequenceClassification,
            AutoTokenizer,
            DataCollatorWithPadding,
            Trainer,
            TrainingArguments,
            set_seed,
        )
        from transformers.trainer_callback import PrinterCallback

        p = self.params
        problem = self.problem(train)
        seed = self.context.seed % 2**31
        folder = str(self.model_files.folder)
        with quiet_transformers(), torch_threads(1), tempfile.TemporaryDirectory(prefix="specc-finetune-") as out:
            set_seed(seed)  # before loading: a new classification head is initialized from torch's generator
            try:
                tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
                head = (
                    {"num_labels": 1}
                    if self.regression()
                    else {
                        "num_labels": len(names),
                        "id2label": dict(enumerate(names)),
                        "label2id": {n: i for i, n in enumerate(names)},
                    }
                )
                model = AutoModelForSequenceClassification.from_pretrained(
                    folder,
                    problem_type=problem,
                    ignore_mismatched_sizes=True,
                    trust_remote_code=False,
                    **head,
                )
            except (OSError, ValueError) as exc:
                raise self.fail(f"cannot load a sequence classifier from {folder}: {exc}") from None
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
                model.config.pad_token_id = tokenizer.pad_token_id
            args = TrainingArguments(
                output_dir=out,
                max_steps=p.steps,
                per_device_train_batch_size=p.batch_size,
                per_device_eval_batch_size=p.batch_size,
                learning_rate=p.learning_rate,
                weight_decay=p.weight_decay,
                seed=seed,
                data_seed=seed,
                use_cpu=True,
                report_to="none",
                save_strategy="no",
                eval_strategy="no",
                logging_strategy="no",
                disable_tqdm=True,
                dataloader_num_workers=0,
            )
            trainer = Trainer(
                model=model,
                args=args,
                train_dataset=self.encode(tokenizer, train),
                data_collator=DataCollatorWithPadding(tokenizer),
            )
            trainer.remove_callback(PrinterCallback)  # it prints the training metrics to stdout
            trainer.train()
            logits = {
                split: trainer.predict(self.encode(tokenizer, rows)).predictions for split, rows in splits.items()
            }
            if problem == "regression":
                return {split: values.reshape(-1) for split, values in logits.items()}
            if problem == "multi_label_classification":
                return {split: values > 0 for split, values in logits.items()}
            return {split: values.argmax(axis=-1) for split, values in logits.items()}
