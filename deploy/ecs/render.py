"""Fill in an ECS task-definition template: ``python deploy/ecs/render.py TEMPLATE > rendered.json``.

Every ``<NAME>`` placeholder of the template is replaced by the environment variable
``TD_NAME`` (for example ``<RDS_ENDPOINT>`` by ``TD_RDS_ENDPOINT``). A placeholder without a
value stops the rendering with exit code 2 and names every missing variable, so that a
half-filled task definition never reaches ECS. The deploy workflow (.github/workflows/deploy.yml)
sets the variables from the GitHub environment's variables; secrets are not rendered here: the
task definition names Secrets Manager ARNs and ECS injects the values.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)>")


def placeholders(text: str) -> list[str]:
    """The placeholder names of a template, sorted and without repeats."""
    return sorted(set(PLACEHOLDER.findall(text)))


def render(text: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """The template with every placeholder filled from ``TD_<NAME>``; ``KeyError`` lists the missing."""
    missing = [name for name in placeholders(text) if not environ.get(f"TD_{name}")]
    if missing:
        raise KeyError(", ".join(f"TD_{name}" for name in missing))

    def value(match: re.Match[str]) -> str:
        # json.dumps escapes quotes and backslashes; strip its surrounding quotes.
        return json.dumps(environ[f"TD_{match.group(1)}"])[1:-1]

    rendered: dict[str, Any] = json.loads(PLACEHOLDER.sub(value, text))
    return rendered


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: render.py TEMPLATE.json > rendered.json", file=sys.stderr)
        return 2
    text = Path(argv[1]).read_text(encoding="utf-8")
    try:
        rendered = render(text, os.environ)
    except KeyError as exc:
        print(f"render.py: no value for {exc.args[0]}", file=sys.stderr)
        return 2
    json.dump(rendered, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
