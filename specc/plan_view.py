"""Readable renderings of a Plan: text for people, JSON for machines."""

from __future__ import annotations

import json
from typing import Any

from specc.compiler import Plan


def plan_json(plan: Plan) -> dict[str, Any]:
    """The plan as plain data."""
    spec = plan.spec
    return {
        "spec": {
            "name": spec.model.name,
            "version": spec.model.version,
            "sha256": spec.sha256,
            "seed": spec.model.seed,
        },
        "output": str(spec.output_dir),
        "steps": [
            {
                "id": s.id,
                "stage": s.stage,
                "type": s.type,
                "plugin": s.component.distribution if s.component else "specc",
                "params": s.fingerprinted_params(),
                "seed": s.seed,
                "upstream": list(s.upstream),
                "fingerprint": s.fingerprint,
                "files": list(s.files),
            }
            for s in plan.steps
        ],
    }


def plan_text(plan: Plan) -> str:
    """The plan as aligned lines, grouped by stage."""
    data = plan_json(plan)
    spec = data["spec"]
    lines = [f"plan for {spec['name']} {spec['version']} (seed {spec['seed']}) -> {data['output']}"]
    stage = None
    for step in data["steps"]:
        if step["stage"] != stage:
            stage = step["stage"]
            lines.append(f"{stage}:")
        lines.append(f"  {step['id']:<28} {step['type']:<14} seed {step['seed']:<20} fp {step['fingerprint'][:12]}")
        params = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(step["params"].items()))
        if params:
            lines.append(f"      {params}")
        for file in step["files"]:
            lines.append(f"      {file['path']}  {file['size']:,} bytes  sha256 {file['sha256'][:16]}")
    lines.append(f"{len(data['steps'])} steps; build fingerprint {plan.fingerprint[:16]}")
    return "\n".join(lines)
