"""Reading CSV and GeoJSON source files into rows (etl.extract)."""

import json
from pathlib import Path

import pytest

from etl.extract import MAX_FIELD_CHARS, ExtractError, check_columns, read_rows, stream_rows

LISTINGS = Path(__file__).resolve().parent.parent / "data" / "listings"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_real_listings_file():
    extracted = read_rows(LISTINGS / "service_listings_shared.csv")
    assert (extracted.encoding, extracted.delimiter, extracted.problems) == ("utf-8", ",", [])
    assert len(extracted.rows) == 116
    assert extracted.rows[0].line == 2
    assert extracted.columns[:3] == ["source_id", "name", "organization"]
    assert extracted.rows[0].values["source_id"] == "CRD2025-03"


def test_utf8_with_bom(tmp_path):
    path = write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + "name,city\nRefuge,Montréal\n".encode())
    extracted = read_rows(path)
    assert extracted.encoding == "utf-8-sig"
    assert extracted.columns == ["name", "city"]  # no BOM glued to the first name
    assert extracted.rows[0].values == {"name": "Refuge", "city": "Montréal"}


def test_latin1_semicolon_file_keeps_accents(tmp_path):
    text = "nom;ville;province\nMaison l’Abri;Trois-Rivières;Québec\nRefuge;Montréal;QC\n"
    extracted = read_rows(write(tmp_path, "fr.csv", text.encode("cp1252")))
    assert (extracted.encoding, extracted.delimiter) == ("cp1252", ";")
    assert [r.values["ville"] for r in extracted.rows] == ["Trois-Rivières", "Montréal"]
    assert extracted.rows[0].values["nom"] == "Maison l’Abri"
    assert extracted.rows[0].values["province"] == "Québec"


def test_iso_8859_1_bytes_outside_cp1252_fall_back_to_latin1(tmp_path):
    data = "nom,ville\nCentre,Montréal\n".encode("latin-1") + b"x\x81,y\n"
    extracted = read_rows(write(tmp_path, "latin1.csv", data))
    assert extracted.encoding == "latin-1"
    assert extracted.rows[0].values["ville"] == "Montréal"


def test_semicolon_with_commas_inside_values(tmp_path):
    text = "name;street_address\nShelter;1 Main St, Unit 2\nDrop-in;3 King St, Rear\n"
    extracted = read_rows(write(tmp_path, "semi.csv", text.encode()))
    assert extracted.delimiter == ";"
    assert extracted.rows[1].values["street_address"] == "3 King St, Rear"


def test_tab_delimited(tmp_path):
    text = "name\tcity\tpostal_code\nYouth shelter\tToronto\tM5V 2T6\n"
    extracted = read_rows(write(tmp_path, "tabs.tsv", text.encode()))
    assert extracted.delimiter == "\t"
    assert extracted.rows[0].values == {
        "name": "Youth shelter", "city": "Toronto", "postal_code": "M5V 2T6",
    }  # fmt: skip


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_multiline_quoted_fields_keep_physical_line_numbers(tmp_path, newline):
    lines = [
        "id,notes,city",  # 1
        '1,"first line',  # 2
        'second line",Toronto',  # 3
        "2,plain,Ottawa",  # 4
        '3,"a',  # 5
        "b",  # 6
        'c",Kenora',  # 7
        "",  # 8 (blank: skipped)
        "4,last,Victoria",  # 9
    ]
    extracted = read_rows(write(tmp_path, "multi.csv", newline.join(lines).encode()))
    assert [row.line for row in extracted.rows] == [2, 4, 5, 9]
    assert extracted.rows[0].values["notes"] == f"first line{newline}second line"
    assert extracted.rows[3].values == {"id": "4", "notes": "last", "city": "Victoria"}


def test_row_with_too_many_fields_is_a_problem_with_its_line(tmp_path):
    text = 'name,city\n"Shelter\nA",Toronto\nB,Ottawa,extra,more\nC,Kenora,,\nD\n'
    extracted = read_rows(write(tmp_path, "wide.csv", text.encode()))
    [problem] = extracted.problems
    assert problem.line == 4
    assert "4 fields" in problem.reason and "header has 2" in problem.reason
    assert problem.values == {
        "name": "B",
        "city": "Ottawa",
        "column 3": "extra",
        "column 4": "more",
    }
    # Trailing empty fields are tolerated; missing fields become ''.
    assert [(r.line, r.values["name"], r.values["city"]) for r in extracted.rows] == [
        (2, "Shelter\nA", "Toronto"), (5, "C", "Kenora"), (6, "D", ""),
    ]  # fmt: skip


def test_values_and_header_names_are_stripped(tmp_path):
    extracted = read_rows(write(tmp_path, "spaces.csv", b" name , city \n  A  ,  B \n"))
    assert extracted.rows[0].values == {"name": "A", "city": "B"}


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"\n\n", "header row is required"),
        ("dupes.csv", b"name,city,name\na,b,c\n", "duplicate column names"),
        ("listing.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx'"),
        ("bad.geojson", b"{not json", "not valid JSON"),
        ("list.json", b"[1, 2]", "FeatureCollection"),
        ("nofeatures.geojson", b'{"type": "FeatureCollection"}', "no list of features"),
    ],
)
def test_unreadable_files_raise_extract_error(tmp_path, name, data, message):
    with pytest.raises(ExtractError, match=message) as raised:
        read_rows(write(tmp_path, name, data))
    assert isinstance(raised.value, ValueError)


def feature(geometry: dict | None, **properties: object) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def test_geojson_points_become_rows_with_lon_lat(tmp_path):
    collection = {
        "type": "FeatureCollection",
        "features": [
            feature(
                {"type": "Point", "coordinates": [-79.37426518, 43.65995605]},
                name=" Seaton House ", capacity=580, confidential=False, phone=None,
            ),
            feature({"type": "LineString", "coordinates": [[-79, 43], [-80, 44]]}, name="Road"),
            feature(None, name="Safe house", city="Montréal"),
            feature({"type": "Point", "coordinates": [-123.35, 48.43, 12.0]}, name="Victoria"),
            {"type": "Point", "coordinates": [-79, 43]},
        ],
    }  # fmt: skip
    data = json.dumps(collection, ensure_ascii=False).encode()
    extracted = read_rows(write(tmp_path, "sites.geojson", data))
    assert (extracted.encoding, extracted.delimiter) == ("utf-8", None)
    assert [row.line for row in extracted.rows] == [1, 3, 4]  # 1-based feature index
    seaton = extracted.rows[0].values
    assert seaton == {
        "name": "Seaton House", "capacity": "580", "confidential": "false", "phone": "",
        "longitude": "-79.37426518", "latitude": "43.65995605",
    }  # fmt: skip
    assert extracted.rows[1].values == {"name": "Safe house", "city": "Montréal"}
    assert extracted.rows[2].values["latitude"] == "48.43"
    road, bare_point = extracted.problems
    assert (road.line, road.values) == (2, {"name": "Road"})
    assert "LineString" in road.reason
    assert (bare_point.line, bare_point.reason) == (5, "not a GeoJSON Feature")
    assert extracted.columns == [
        "name", "capacity", "confidential", "phone", "longitude", "latitude", "city",
    ]  # fmt: skip


def test_geojson_single_feature_and_bad_coordinates(tmp_path):
    single = feature({"type": "Point", "coordinates": [43.66, -279.37]}, name="Swapped")
    extracted = read_rows(write(tmp_path, "one.json", json.dumps(single).encode()))
    assert extracted.rows == []
    assert "out of range" in extracted.problems[0].reason


def test_geojson_in_another_crs_is_refused(tmp_path):
    collection = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3347"}},
        "features": [],
    }
    with pytest.raises(ExtractError, match="only WGS84"):
        read_rows(write(tmp_path, "lambert.geojson", json.dumps(collection).encode()))


# --- Bad files: each bad row is reported with its line and reason, the good rows are read ---


def test_a_nul_character_rejects_its_row_only(tmp_path):
    data = b"source_id,name\n1,Refuge\n2,Mai\x00son\n3,Abri\n"
    extracted = read_rows(write(tmp_path, "nul.csv", data))
    assert [row.values["source_id"] for row in extracted.rows] == ["1", "3"]
    [problem] = extracted.problems
    assert (problem.line, problem.reason) == (3, "'name' contains a NUL character")
    assert problem.values["name"] == "Maison"


def test_a_nul_character_in_geojson_rejects_its_feature(tmp_path):
    collection = {
        "type": "FeatureCollection",
        "features": [feature(None, name="A\u0000"), feature(None, name="B")],
    }
    extracted = read_rows(write(tmp_path, "nul.geojson", json.dumps(collection).encode()))
    assert [row.values["name"] for row in extracted.rows] == ["B"]
    assert [(p.line, p.reason) for p in extracted.problems] == [
        (1, "'name' contains a NUL character")
    ]


def test_an_unterminated_quote_is_reported_and_the_rest_is_read(tmp_path):
    data = b'source_id,name,province\n1,Refuge,ON\n2,"Maison,QC\n3,Abri,BC\n4,Centre,AB\n'
    extracted = read_rows(write(tmp_path, "quote.csv", data))
    assert [(row.line, row.values["name"]) for row in extracted.rows] == [
        (2, "Refuge"), (4, "Abri"), (5, "Centre"),
    ]  # fmt: skip
    [problem] = extracted.problems
    assert problem.line == 3
    assert problem.reason.startswith("unterminated quoted field: the quote opened on line 3")


def test_a_quote_inside_an_unquoted_value_is_not_unterminated(tmp_path):
    extracted = read_rows(write(tmp_path, "inch.csv", b'id,size\n1,"a"b\n2,5" screen'))
    assert [row.values["size"] for row in extracted.rows] == ["ab", '5" screen']
    assert extracted.problems == []


def test_an_over_long_value_rejects_its_row_only(tmp_path):
    data = b"source_id,description\n1,short\n2," + b"x" * 200_000 + b"\n3,also short\n"
    extracted = read_rows(write(tmp_path, "long.csv", data))
    assert [row.values["source_id"] for row in extracted.rows] == ["1", "3"]
    [problem] = extracted.problems
    assert problem.line == 3
    assert problem.reason == (
        f"'description' is 200000 characters long; a value may have at most {MAX_FIELD_CHARS}"
    )


def test_a_value_too_long_to_parse_rejects_its_row_only(tmp_path):
    data = b"source_id,description\n1," + b"x" * 2_000_000 + b"\n2,short\n"
    extracted = read_rows(write(tmp_path, "huge.csv", data))
    assert [row.values["source_id"] for row in extracted.rows] == ["2"]
    assert [(p.line, p.reason) for p in extracted.problems] == [
        (2, "a value is longer than 1048576 characters")
    ]


def test_a_quoted_over_long_value_names_its_column(tmp_path):
    long_value = "y" * (MAX_FIELD_CHARS + 1)
    data = f'source_id,description\n1,"{long_value}"\n2,ok\n'.encode()
    extracted = read_rows(write(tmp_path, "long.csv", data))
    assert [row.values["source_id"] for row in extracted.rows] == ["2"]
    assert [p.line for p in extracted.problems] == [2]


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 40,  # every byte value
        b"\x89PNG\r\n\x1a\n" + bytes(range(7, 250)) * 30,
        b"PK\x03\x04" + b"\x00\x01\x02\x03" * 2000,
    ],
)
def test_a_binary_file_is_one_clear_error(tmp_path, data):
    with pytest.raises(ExtractError, match=r"^listings\.csv is not a text \(CSV\) file$"):
        read_rows(write(tmp_path, "listings.csv", data))


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read(tmp_path, encoding):
    text = "name,city\nRefuge,Montréal\nAbri,Québec\n"
    extracted = read_rows(write(tmp_path, "u16.csv", text.encode(encoding)))
    assert extracted.encoding == encoding
    assert [row.values["city"] for row in extracted.rows] == ["Montréal", "Québec"]


def test_pipe_delimited_file(tmp_path):
    text = "name|street_address|city\nShelter|1 Main St, Unit 2|Toronto\n"
    extracted = read_rows(write(tmp_path, "pipes.txt", text.encode()))
    assert extracted.delimiter == "|"
    assert extracted.rows[0].values == {
        "name": "Shelter", "street_address": "1 Main St, Unit 2", "city": "Toronto",
    }  # fmt: skip


def test_shift_jis_is_read_as_shift_jis(tmp_path):
    text = "source_id,name,city\n1,東京女性センター,Toronto\n2,日本語のサービス,Vancouver\n"
    extracted = read_rows(write(tmp_path, "sjis.csv", text.encode("shift_jis")))
    assert [row.values["name"] for row in extracted.rows] == [
        "東京女性センター",
        "日本語のサービス",
    ]


def test_cp1252_accents_after_a_long_ascii_start(tmp_path):
    ascii_rows = "".join(f"{i},Refuge {i}\n" for i in range(60_000))
    data = f"source_id,name\n{ascii_rows}60000,Maison l’Abri à Québec\n".encode("cp1252")
    extracted = read_rows(write(tmp_path, "late.csv", data))
    assert extracted.encoding == "cp1252"
    assert extracted.rows[-1].values["name"] == "Maison l’Abri à Québec"


def test_missing_required_columns_are_one_file_error():
    with pytest.raises(ExtractError) as raised:
        check_columns("x.csv", ["id", "city"], ("source_id", "name"))
    assert str(raised.value) == (
        "x.csv: missing required column(s) source_id, name (the header has: id, city)"
    )
    check_columns("x.csv", ["name", "source_id"], ("source_id", "name"))  # no error


def test_stream_reads_rows_as_they_are_consumed(tmp_path):
    data = b"source_id,name\n1,A\n2,B\n3,C\n"
    with stream_rows(write(tmp_path, "s.csv", data)) as stream:
        assert stream.columns == ["source_id", "name"]
        assert next(stream.items).values == {"source_id": "1", "name": "A"}
        assert [item.line for item in stream.items] == [3, 4]
    assert stream.file.closed
