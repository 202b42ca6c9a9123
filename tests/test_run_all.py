"""benchmarks/run_all.py: its markdown table, and the results table in docs/results.md being that table (same rows)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
import json, sys
from pathlib import Path
import run_all
summary = {"date": "2026-01-02", "machine": "a test machine", "benchmarks": {}}
for name, (_, rows) in run_all.BENCHMARKS.items():
    summary["benchmarks"][name] = {"ok": True, "seconds": 12.0, "results": {key: 0.5 for key, _, _ in rows}}
summary["benchmarks"]["limits"] = {"ok": False, "seconds": 3.0, "error": "Traceback | boom"}
table = run_all.markdown(summary)
readme = Path(sys.argv[1])
run_all.put_in_readme(readme, table)
labels = [label for _, rows in run_all.BENCHMARKS.values() for _, label, _ in rows]
print(json.dumps({"table": table, "labels": labels, "markers": run_all.MARKERS}))
"""


def run_script(readme: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(readme)], cwd=ROOT / "benchmarks", capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def table_between_markers(text: str, markers) -> str:
    start, end = text.index(markers[0]), text.index(markers[1])
    return text[start + len(markers[0]):end]


def test_the_table_goes_between_the_readme_markers_and_reports_failures(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\n<!-- run_all -->\nold table\n<!-- /run_all -->\n\nafter\n")
    out = run_script(readme)
    text = readme.read_text()
    assert "old table" not in text and text.startswith("# Title") and text.endswith("after\n")
    table = table_between_markers(text, out["markers"])
    assert "2026-01-02" in table and "a test machine" in table
    assert "| limits | FAILED | Traceback | boom |" in table
    assert "| planning | Two Rooms success, latent CEM | 50% |" in table
    assert "| ijepa | I-JEPA tiny: shape probe accuracy, trained | 0.500 |" in table


def test_the_readme_results_table_has_every_row_run_all_writes(tmp_path):
    text = (ROOT / "docs" / "results.md").read_text()
    copy = tmp_path / "results.md"
    copy.write_text(text)
    out = run_script(copy)
    shown = table_between_markers(text, out["markers"])
    missing = [label for label in out["labels"] if f"| {label} |" not in shown]
    assert not missing, (f"the results table in docs/results.md is stale "
                         f"(rerun benchmarks/run_all.py --readme docs/results.md): {missing}")
    assert "Quick benchmarks, 20" in shown and " on " in shown  # the date and the machine
