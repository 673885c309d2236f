"""The `transformers-finetune` baseline: fine-tune a small sequence classifier (or regressor) for some steps, score the rest.

Training runs with transformers' `Trainer` on the CPU, seeded from the step's seed, on one torch
thread (the same sums in the same order on every machine), without reporting integrations or
checkpoints, in a temporary folder. The classification head is made anew for the data set's
classes when the model has other ones; with `problem_type: regression` it is one output trained with
mean squared error (transformers' `problem_type="regression"`).
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
    problem_type: Literal["single_label_classification", "regression"] = Field(
        "single_label_classification",
        description="Classes (cross-entropy loss), or a numeric target (`task: text-regression`; one output, "
        "mean squared error loss, scored with MSE, RMSE, MAE, R² and Spearman).",
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
        """Rows as the Trainer reads them: token ids, attention mask and label (a class id, or a float target)."""
        encoded = tokenizer(rows.texts, truncation=True, max_length=self.params.max_length)
        kind = float if self.regression() else int
        return [
            {"input_ids": ids, "attention_mask": mask, "labels": kind(label)}
            for ids, mask, label in zip(encoded["input_ids"], encoded["attention_mask"], rows.labels)
        ]

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
                    problem_type=p.problem_type,
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
            predicted = {
                split: trainer.predict(self.encode(tokenizer, rows)).predictions for split, rows in splits.items()
            }
            if self.regression():
                return {split: values.reshape(-1) for split, values in predicted.items()}
            return {split: values.argmax(axis=-1) for split, values in predicted.items()}
