"""One training run in its output folder: started (or resumed) with its data and manifest,
trained one objective at a time, each saved as a model, and finished with the model card.

A recipe (``training/recipes.py``) says which objectives a method trains and from which model;
:class:`Run` does the rest. Under ``torchrun`` / ``accelerate launch`` every process runs it;
only rank 0 writes files and talks, and barriers keep the others from reading what it has not
written yet.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reason2decide.data.example import Example
from reason2decide.data.training_data import TrainingData, load_training_data
from reason2decide.distributed import (
    barrier,
    init_distributed,
    is_main_process,
    parameters_sharded,
    world_size,
)
from reason2decide.errors import R2DError
from reason2decide.io import read_json, write_json
from reason2decide.methods import MethodSpec, method_spec, method_stages
from reason2decide.training.config import TrainConfig, check_label_decoding
from reason2decide.training.decision_prior import choose_prior_correction, label_counts
from reason2decide.training.host_memory import keep_freed_memory, return_freed_memory
from reason2decide.training.manifest import (
    finish_manifest,
    init_record,
    mark_stopped,
    new_manifest,
    resumed_manifest,
)
from reason2decide.training.model_card import card_facts, read_card_facts, write_model_card
from reason2decide.training.model_info import model_info
from reason2decide.training.output import (
    LABELS_FILE,
    LOG_FILE,
    MODEL_DIR,
    RUN_FILE,
    STAGE_FILE,
    check_unchanged_data,
    prepare_output,
    resolve_init,
)
from reason2decide.training.saving import save_model_atomically
from reason2decide.training.stage import load_stage_backbone, train_stage
from reason2decide.training.truncation import report_truncation

Say = Callable[[str], None]


def _silent(message: str) -> None:
    """``say`` of the processes other than rank 0."""


@dataclass
class Run:
    """A run being trained: its config, data, manifest and output folder."""

    config: TrainConfig
    spec: MethodSpec
    #: the objectives this run trains, in order (``--stage`` may pick one of two)
    objectives: tuple[str, ...]
    #: the model the first objective starts from (``--model``, or for ``--stage 2`` the
    #: Stage-1 model that ``--init`` names)
    start_model: str
    data: TrainingData
    manifest: dict[str, Any]
    say: Say
    callbacks: Sequence[Any] = ()
    main: bool = True
    #: whether this call trained an objective (a resumed complete run trains none)
    trained: bool = False
    started: float = field(default_factory=time.perf_counter)

    @property
    def output(self) -> Path:
        return Path(self.config.output)

    @classmethod
    def start(
        cls,
        config: TrainConfig,
        *,
        resume: bool = False,
        overwrite: bool = False,
        say: Say = print,
        callbacks: Sequence[Any] = (),
        held_out: Mapping[str, Sequence[Example]] | None = None,
    ) -> Run:
        """Prepare the output folder, read and check the data, and write the manifest (or take
        up the one of the run to resume)."""
        init_distributed()
        import torch

        # single-process CPU training only: kept memory is untested with several processes.
        # (Adopted when a fresh clone's two-process test aborted; that abort came back without
        # it, in a worker that never starts a Run, so it was not the cause.)
        if config.host_memory == "keep" and not torch.cuda.is_available() and world_size() == 1:
            keep_freed_memory()
        else:  # e.g. a "return" run after a "keep" one in the same r2d bench process
            return_freed_memory()
        if config.lora_r and parameters_sharded():
            raise R2DError(
                "LoRA with sharded parameters (FSDP, DeepSpeed ZeRO-3) is not supported",
                field="lora_r (--lora-r)",
                hint="LoRA keeps the trained weights small: use DDP (configs/accelerate/ddp.yaml)",
            )
        if config.prior_correction != "none" and parameters_sharded():
            raise R2DError(
                "--prior-correction val with sharded parameters (FSDP, DeepSpeed ZeRO-3) is not "
                "supported: τ is chosen on one process's whole model after training",
                field="prior_correction (--prior-correction)",
                hint="use DDP (configs/accelerate/ddp.yaml), or choose τ later with r2d evaluate "
                "--prior-tau on the validation set",
            )
        main = is_main_process()
        if not main:
            say = _silent
        output = Path(config.output)
        prepare_output(output, resume=resume, overwrite=overwrite)
        barrier()
        objectives = method_stages(config.method, config.stage)
        spec = method_spec(config.method)
        start = config.model if config.stage != "2" else resolve_init(config.init or config.model)
        run_file = output / RUN_FILE
        if resume:
            check_unchanged_data(read_json(run_file), config)
        with warnings.catch_warnings():
            if not main:
                warnings.simplefilter("ignore")
            data = load_training_data(
                config,
                needs_rationale=spec.requires_rationale,
                stages=tuple(objectives),
                say=say,
                held_out=held_out,
            )
        # Cases with their own options are scored over those; only the others use the label set.
        plain = any(e.choices is None for e in (*data.train, *data.val))
        check_label_decoding(config, len(data.labels) if plain else 0)

        if resume:
            manifest = resumed_manifest(run_file, data.labels, output / LABELS_FILE)
        else:
            manifest = new_manifest(config, data, spec.rationale)
        if config.stage == "2":
            manifest["init"] = init_record(config.init or config.model, start)
        if main:
            output.mkdir(parents=True, exist_ok=True)
            data.labels.save(output / LABELS_FILE)
            write_json(run_file, manifest)
        return cls(config, spec, objectives, start, data, manifest, say, callbacks, main)

    def train(self, objective: str, start: str) -> str:
        """Train ``objective`` from the model ``start`` and save the model of its best
        checkpoint (the run's ``model/`` for its last objective, else ``OBJECTIVE/model/``);
        return that folder. An objective a resumed run has finished is not trained again."""
        config, output, say = self.config, self.output, self.say
        stage_dir = output / objective
        last = objective == self.objectives[-1]
        model_dir = output / MODEL_DIR if last else stage_dir / MODEL_DIR
        if (stage_dir / STAGE_FILE).is_file() and model_dir.is_dir():
            say(f"{objective}: already complete, skipping.")
            return str(model_dir)

        backbone, lora = load_stage_backbone(objective, start, config, say)
        train, val = self.data.for_stage(objective)
        say(
            f"{objective}: {backbone.name} ({backbone.num_parameters() / 1e6:.1f}M parameters), "
            f"{len(train)} training / {len(val)} validation examples, "
            f"{len(self.data.labels)} labels "
            f"({'scored' if config.label_decoding == 'score' else 'generated as free text'})"
        )
        truncation = report_truncation(
            backbone,
            objective,
            self.spec.rationale,
            {"train": train, "val": val},
            requested_input=config.max_input_length,
            requested_target=config.max_target_length,
            say=say,
        )
        model, summary = train_stage(
            objective,
            backbone,
            self.data,
            config,
            stage_dir,
            output / LOG_FILE,
            self.callbacks,
            say=say,
        )
        self.trained = True
        summary["init"] = start
        summary["truncation"] = truncation
        summary["model_dir"] = str(model_dir.relative_to(output))
        if lora is not None:
            from reason2decide.training.lora import merge_lora

            summary["lora"] = {**lora, "saved": "merged into the weights"}
            model = merge_lora(model)

        labels = list(self.data.labels)
        info = model_info(config, objective, self.spec.rationale, labels)
        if objective != "stage1":  # a model that decides: --prior-tau can correct it later
            info["label_counts"] = label_counts(train)
        if last and objective != "stage1" and config.prior_correction == "val":
            record = choose_prior_correction(
                backbone,
                model,
                val,
                labels,
                info["label_counts"],
                precision=config.precision,
                batch_size=config.resolved_eval_batch_size,
            )
            info["prior_correction"] = summary["prior_correction"] = record
            say(
                f"{objective}: prior correction τ = {record['tau']} "
                f"({record['chosen_by']}), saved with the model"
            )
        if self.main:
            save_model_atomically(backbone, model, model_dir, labels=self.data.labels, info=info)
            write_json(stage_dir / STAGE_FILE, summary)
            self.manifest["stages"][objective] = summary
            self.manifest["token_limits"] = truncation["limits"]
            write_json(output / RUN_FILE, self.manifest)
            if not config.keep_checkpoints:
                for checkpoint in stage_dir.glob("checkpoint-*"):
                    shutil.rmtree(checkpoint, ignore_errors=True)
        barrier()  # the next objective loads the model rank 0 has just saved
        metric = summary["best_metric"]
        say(
            f"{objective}: done in {summary['wall_time_s']:.0f} s, best "
            f"{summary['selection_metric']} = {metric if metric is None else round(metric, 4)} "
            f"at step {summary['best_step']}"
        )
        return str(model_dir)

    def stopped(self, error: BaseException) -> None:
        """Record in ``run.json`` that the run stopped early (``failed`` or ``interrupted``)."""
        mark_stopped(self.manifest, error)
        if self.main:
            # Best effort: on a full disk this write fails too, and the error that stopped the
            # run is the one to report (run.json then still says "running").
            with contextlib.suppress(OSError, R2DError):
                write_json(self.output / RUN_FILE, self.manifest)

    def finish(self) -> dict[str, Any]:
        """Mark the run complete, write its model card; return the manifest."""
        finish_manifest(self.manifest, time.perf_counter() - self.started)
        if self.main:
            write_json(self.output / RUN_FILE, self.manifest)
            facts = card_facts(self.manifest)
            earlier = read_card_facts(self.output / MODEL_DIR)
            if not self.trained and earlier:  # nothing retrained: the card's test metrics hold
                facts["evaluation"] = earlier.get("evaluation")
            write_model_card(self.output / MODEL_DIR, facts)
        return self.manifest
