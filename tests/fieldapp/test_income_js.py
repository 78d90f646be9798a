"""The app's money rules (fieldapp/static/fieldapp/js/income.js), run in Node as the phone runs
them: amounts typed as text become exact two-decimal strings, never floats; figures that look
year-to-date raise the warning."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

INCOME_JS = (
    Path(__file__).resolve().parents[2] / "fieldapp" / "static" / "fieldapp" / "js" / "income.js"
)
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js not installed: the app's JS rules")


def run(script: str):
    program = f"import * as income from {json.dumps(INCOME_JS.as_uri())};\n{script}"
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", program],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


def test_amounts_become_exact_two_decimal_text():
    cases = {
        "1200": "1200.00",
        "1,200.5": "1200.50",
        " 0 ": "0.00",
        "007.10": "7.10",
        "-350.5": None,  # not allowed where the category is never negative
        "12.345": None,
        "1e3": None,
        "": None,
        "123456789": None,  # more than 10,000,000
        "99999999.99": "99999999.99",
        "0.1": "0.10",
    }
    texts = json.dumps(list(cases))
    got = run(f"console.log(JSON.stringify({texts}.map((t) => income.normalize(t))))")
    assert dict(zip(cases, got, strict=True)) == cases
    signed = run(
        'console.log(JSON.stringify(["-350.5", "−20", "-0", "+15"].map('
        "(t) => income.normalize(t, {signed: true}))))"
    )
    assert signed == ["-350.50", "-20.00", "0.00", "15.00"]
    checked = run(
        "const c = income.CATEGORIES[0]; console.log(JSON.stringify(["
        'income.checkAmount("", c), income.checkAmount("10000001", c),'
        'income.checkAmount("10000000", c)]))'
    )
    assert "error" in checked[0]
    assert "上限" in checked[1]["error"]
    assert checked[2] == {"value": "10000000.00"}


def test_figures_that_look_year_to_date():
    place = {
        "previous_quarter": "2026Q3",
        "previous_income": {
            "wages": "3000.00",
            "operating": "0.00",
            "property": "0.00",
            "transfers": "100.00",
        },
        "earlier_income": {
            "quarters": ["2026Q1", "2026Q2", "2026Q3"],
            "income": {
                "wages": "9000.00",
                "operating": "0.00",
                "property": "0.00",
                "transfers": "300.00",
            },
        },
    }
    figures = {
        "quarter's own": {
            "wages": "3100.00",
            "operating": "0.00",
            "property": "0.00",
            "transfers": "100.00",
        },
        "the year's sum": {
            "wages": "9000.00",
            "operating": "0.00",
            "property": "0.00",
            "transfers": "300.00",
        },
        "running total": {
            "wages": "12000.00",
            "operating": "0.00",
            "property": "0.00",
            "transfers": "400.00",
        },
    }
    script = (
        f"const place = {json.dumps(place)}; const figures = {json.dumps(figures)};"
        "const out = {}; for (const [k, v] of Object.entries(figures)) "
        'out[k] = income.yearToDateWarning(v, place, "2026Q4");'
        'out.q1 = income.yearToDateWarning(figures["running total"], '
        '{...place, previous_quarter: "2025Q4", earlier_income: null}, "2026Q1");'
        "console.log(JSON.stringify(out));"
    )
    out = run(script)
    assert out["quarter's own"] is None
    assert "前3个季度收入之和" in out["the year's sum"]
    assert "倍" in out["running total"]
    assert out["q1"] is None  # a new year: last year's Q4 says nothing about this one
