"""``caremap coverage compute`` through click's runner, on small CSVs."""

from __future__ import annotations

import csv
import math

import pytest
from click.testing import CliRunner

from caremap.coverage.io import read_costs, read_points
from caremap_cli import main

# The layout of tests/test_coverage_methods.py's hand-checked case: on the equator,
# A(0°) X(0.5°) B(1°) Y(2°) C(2.5°); 0.5° = 55.6 km. Scores within 150 km: A 0.01, B 0.014,
# C 0.004.
DEMAND = "id,latitude,longitude,population\nA,0,0,1000\nB,0,1,2000\nC,0,2.5,500\n"
SUPPLY = "id,latitude,longitude,capacity\nX,0,0.5,30\nY,0,2,10\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "D.csv").write_text(DEMAND, encoding="utf-8")
    (tmp_path / "S.csv").write_text(SUPPLY, encoding="utf-8")
    return tmp_path


def run(tmp_path, *args, demand="D.csv", supply="S.csv", out="OUT.csv"):
    arguments = [
        "coverage", "compute", "--demand", str(tmp_path / demand),
        "--supply", str(tmp_path / supply), "--out", str(tmp_path / out), *args,
    ]  # fmt: skip
    result = CliRunner().invoke(main, arguments)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def rows(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_two_step_fca_writes_every_demand_id(files):
    result = run(files, "--method", "2sfca", "--catchment-km", "150")
    assert result.exit_code == 0, result.output
    assert "3 demand points, 2sfca, 4 demand-site pairs within 150 km" in result.output
    assert "0 demand points (0 people) have no site within 150 km" in result.output
    written = rows(files / "OUT.csv")
    assert [row["id"] for row in written] == ["A", "B", "C"]
    assert [float(row["score"]) for row in written] == pytest.approx([0.01, 0.014, 0.004])
    assert list(written[0]) == ["id", "score"]


def test_unreachable_points_score_zero_and_are_counted(files):
    result = run(files, "--method", "2sfca", "--catchment-km", "50")
    assert result.exit_code == 0, result.output
    assert [row["score"] for row in rows(files / "OUT.csv")] == ["0.0", "0.0", "0.0"]
    assert "3 demand points (3,500 people) have no site within 50 km" in result.output


def test_e2sfca_with_a_decay(files):
    result = run(
        files, "--method", "e2sfca", "--catchment-km", "150", "--decay", "step:60=1,150=0.5"
    )
    assert result.exit_code == 0, result.output
    assert "e2sfca (step:60=1,150=0.5)" in result.output
    scores = [float(row["score"]) for row in rows(files / "OUT.csv")]
    assert scores == pytest.approx([0.01, 0.01 + 1 / 300, 10 / 1500])  # as worked by hand
    default = run(files, "--method", "e2sfca", "--catchment-km", "150")
    assert "e2sfca (step:50=1,100=0.68,150=0.22)" in default.output
    gaussian = run(files, "--method", "E2SFCA", "--catchment-km", "150", "--decay", "gaussian")
    assert gaussian.exit_code == 0 and "gaussian:75" in gaussian.output


def test_fca_and_nearest(files):
    assert run(files, "--method", "fca", "--catchment-km", "150").exit_code == 0
    scores = [float(row["score"]) for row in rows(files / "OUT.csv")]
    assert scores == pytest.approx([30 / 3000, 40 / 3000, 10 / 500])
    result = run(files, "--method", "nearest", "--catchment-km", "50")
    assert result.exit_code == 0, result.output
    written = rows(files / "OUT.csv")
    assert list(written[0]) == ["id", "score", "nearest_km"]
    assert {row["score"] for row in written} == {"0.0"}
    assert float(written[0]["nearest_km"]) == pytest.approx(55.5975, abs=1e-4)


def test_cost_matrix(files):
    # Minutes; C has no row at all, so it is unreachable. The catchment is in minutes. Spaces
    # around values and blank lines are fine.
    (files / "C.csv").write_text(
        "Origin, Dest ,COST\nA,X,30\n\n B , X , 45 \nB,Y,46\n", encoding="utf-8"
    )
    result = run(files, "--method", "2sfca", "--catchment-km", "45", "--cost", str(files / "C.csv"))
    assert result.exit_code == 0, result.output
    assert "2 demand-site pairs within 45 (cost units)" in result.output
    assert [float(row["score"]) for row in rows(files / "OUT.csv")] == [0.01, 0.01, 0.0]
    result = run(
        files, "--method", "nearest", "--catchment-km", "45", "--cost", str(files / "C.csv")
    )
    written = rows(files / "OUT.csv")
    assert list(written[0]) == ["id", "score", "nearest_cost"]
    assert [(r["score"], r["nearest_cost"]) for r in written] == [
        ("1.0", "30.0"), ("1.0", "45.0"), ("0.0", ""),
    ]  # fmt: skip


def test_bad_rows_are_all_reported_and_nothing_is_written(files):
    (files / "D.csv").write_text(
        "id,latitude,longitude,population\n"
        "A,0,0,1000\n"
        "B,north,1,2000\n"  # line 3
        "C,95,2.5,-5\n"  # line 4: two reasons
        "A,0,1,3\n"  # line 5
        "\n"  # line 6: blank lines are skipped
        ",1,1,1\n"  # line 7
        "D,1,1,\n",  # line 8
        encoding="utf-8",
    )
    (files / "S.csv").write_text(
        "id,latitude,longitude,capacity\nX,0,200,30\nY,0,2,inf\n", encoding="utf-8"
    )
    (files / "OUT.csv").write_text("an earlier result\n", encoding="utf-8")
    result = run(files, "--method", "2sfca", "--catchment-km", "150")
    assert result.exit_code == 1
    demand, supply = files / "D.csv", files / "S.csv"
    for expected in [
        f"{demand} line 3: latitude 'north' is not a number",
        f"{demand} line 4: latitude 95 is outside -90 to 90; population -5 is negative",
        f"{demand} line 5: duplicate id 'A' (first on line 2)",
        f"{demand} line 7: empty id",
        f"{demand} line 8: empty population",
        f"{supply} line 2: longitude 200 is outside -180 to 180",
        f"{supply} line 3: capacity 'inf' is not a finite number",
        "nothing was written",
    ]:
        assert expected in result.output
    assert (files / "OUT.csv").read_text(encoding="utf-8") == "an earlier result\n"
    assert sorted(p.name for p in files.iterdir()) == ["D.csv", "OUT.csv", "S.csv"]


def test_a_missing_column_is_named(files):
    (files / "S.csv").write_text("id,lat,lon,capacity\nX,0,0.5,30\n", encoding="utf-8")
    result = run(files, "--method", "2sfca", "--catchment-km", "150")
    assert result.exit_code == 1
    assert "missing column 'latitude' (the header has: id, lat, lon, capacity)" in result.output
    assert "missing column 'longitude'" in result.output
    assert not (files / "OUT.csv").exists()
    (files / "S.csv").write_text("id;lat;lon;capacity\nX;0;0.5;30\n", encoding="utf-8")
    result = run(files, "--method", "2sfca", "--catchment-km", "150")
    assert "missing column 'latitude' (the header has: id, lat, lon, capacity)" in result.output


# The hand-checked case again, with accented ids and a cost matrix (A X 30, B X 45, B Y 46).
ACCENTED = {
    "D.csv": (
        "id,latitude,longitude,population\nQuébec,0,0,1000\nMontréal,0,1,2000\nÎle,0,2.5,500\n"
    ),
    "S.csv": "id,latitude,longitude,capacity\nX,0,0.5,30\nY,0,2,10\n",
    "C.csv": "origin,dest,cost\nQuébec,X,30\nMontréal,X,45\nMontréal,Y,46\n",
}


@pytest.mark.parametrize(("encoding", "delimiter"), [("latin-1", ";"), ("cp1252", "\t")])
def test_latin1_semicolons_and_cp1252_tabs_read_as_the_utf8_commas(tmp_path, encoding, delimiter):
    original, other = tmp_path / "utf8", tmp_path / "other"
    for folder in (original, other):
        folder.mkdir()
    for name, text in ACCENTED.items():
        (original / name).write_text(text, encoding="utf-8")
        (other / name).write_bytes(text.replace(",", delimiter).encode(encoding))
    assert b"Qu\xe9bec" in (other / "D.csv").read_bytes()
    demand = read_points(other / "D.csv", "population")
    assert demand.ids.tolist() == ["Québec", "Montréal", "Île"]
    expected = read_points(original / "D.csv", "population")
    for field in ("latitude", "longitude", "weight"):
        assert getattr(demand, field).tolist() == getattr(expected, field).tolist()
    supply = read_points(other / "S.csv", "capacity")
    costs = read_costs(other / "C.csv", demand, supply)
    expected_costs = read_costs(original / "C.csv", demand, supply)
    for field in ("origin", "dest", "cost"):
        assert getattr(costs, field).tolist() == getattr(expected_costs, field).tolist()
    for folder in (original, other):
        result = run(
            folder, "--method", "2sfca", "--catchment-km", "45", "--cost", str(folder / "C.csv")
        )
        assert result.exit_code == 0, result.output
    assert (other / "OUT.csv").read_bytes() == (original / "OUT.csv").read_bytes()
    assert rows(other / "OUT.csv") == [
        {"id": "Québec", "score": "0.01"},
        {"id": "Montréal", "score": "0.01"},
        {"id": "Île", "score": "0.0"},
    ]


def test_a_binary_input_is_one_clear_error(files):
    (files / "D.csv").write_bytes(bytes(range(256)) * 40)
    result = run(files, "--method", "2sfca", "--catchment-km", "150")
    assert result.exit_code == 1
    assert f"{files / 'D.csv'}: {files / 'D.csv'} is not a text (CSV) file" in result.output
    assert not (files / "OUT.csv").exists()


def test_bad_cost_rows(files):
    (files / "C.csv").write_text(
        "origin,dest,cost\nA,X,10\nA,X,11\nQ,X,1\nB,Y,-1\n\nC,Y,soon\nC,Z,\n", encoding="utf-8"
    )
    result = run(files, "--method", "2sfca", "--catchment-km", "60", "--cost", str(files / "C.csv"))
    assert result.exit_code == 1
    costs, demand, supply = files / "C.csv", files / "D.csv", files / "S.csv"
    for expected in [
        f"{costs} line 3: duplicate pair (A, X) (first on line 2)",
        f"{costs} line 4: origin 'Q' is not an id in {demand}",
        f"{costs} line 5: cost -1 is negative",
        f"{costs} line 7: cost 'soon' is not a number",
        f"{costs} line 8: dest 'Z' is not an id in {supply}; empty cost",
    ]:
        assert expected in result.output
    assert not (files / "OUT.csv").exists()


def test_headers_are_forgiving_about_case_bom_and_extra_columns(files):
    (files / "D.csv").write_text(
        "\ufeffName, ID ,Latitude,LONGITUDE,Population\nsomewhere,A,0,0,1000\n", encoding="utf-8"
    )
    result = run(files, "--method", "2sfca", "--catchment-km", "150")
    assert result.exit_code == 0, result.output
    assert rows(files / "OUT.csv") == [{"id": "A", "score": "0.03"}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "2sfca", "--catchment-km", "0"], "0 is not a positive number"),
        (["--method", "2sfca", "--catchment-km", "nan"], "nan is not a positive number"),
        (["--method", "2sfca", "--catchment-km", "9", "--decay", "gaussian"], "only to --method"),
        (["--method", "e2sfca", "--catchment-km", "9", "--decay", "cubic"], "unknown decay"),
        (["--method", "fca", "--catchment-km", "9", "--cost", "S.csv"], "demand-to-demand"),
        (["--method", "best", "--catchment-km", "9"], "'best' is not one of"),
    ],
)
def test_usage_errors(files, args, message):
    args = [str(files / a) if a == "S.csv" else a for a in args]
    result = run(files, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (files / "OUT.csv").exists()


def test_an_unwritable_output_is_a_clear_error(files):
    result = run(files, "--method", "2sfca", "--catchment-km", "150", out="no/such/OUT.csv")
    assert result.exit_code == 1
    assert "cannot write" in result.output and "nothing was written" in result.output


def test_full_precision_round_trip(files):
    run(files, "--method", "e2sfca", "--catchment-km", "150", "--decay", "gaussian:40")
    scores = [float(row["score"]) for row in rows(files / "OUT.csv")]
    # A and B are 0.5° from X; B is 1° from Y, C 0.5°; w(d) = exp(-d²/(2·40²)), 1° = 111.195 km.
    w_half, w_one = (math.exp(-((k * 111.1950802335329) ** 2) / 3200) for k in (0.5, 1))
    r_x = 30 / (1000 * w_half + 2000 * w_half)
    r_y = 10 / (2000 * w_one + 500 * w_half)
    expected = [r_x * w_half, r_x * w_half + r_y * w_one, r_y * w_half]
    assert scores == pytest.approx(expected, rel=1e-12)


def test_help_explains_the_distance_and_its_limits():
    result = CliRunner().invoke(main, ["coverage", "compute", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "great-circle km on a sphere of radius 6,371.0088 km" in text
    assert "fly-in communities in the North" in text and "winter roads" in text
    assert "inclusive" in text


def test_a_clean_cost_matrix_is_read_in_one_pass(files, monkeypatch):
    from caremap.coverage import io

    def second_pass(*args):
        raise AssertionError("a clean file should not be read again as text")

    monkeypatch.setattr(io, "_checked_costs", second_pass)
    (files / "C.csv").write_text("cost,origin,dest\n30, A ,X\n\n45,B,X\n", encoding="utf-8")
    demand = io.read_points(files / "D.csv", "population")
    supply = io.read_points(files / "S.csv", "capacity")
    costs = io.read_costs(files / "C.csv", demand, supply)
    assert costs.origin.tolist() == [0, 1] and costs.dest.tolist() == [0, 0]
    assert costs.cost.tolist() == [30, 45]
