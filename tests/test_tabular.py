"""How CSV bytes are read as text: one encoding and delimiter finder for the ETL and coverage."""

import io
import subprocess
import sys

import pytest

from caremap.tabular import CsvFormat, UnreadableFile, csv_format

TEXT = "source_id,name,city\n1,Maison l’Abri,Québec\n2,Refuge « Aube »,Montréal\n"
# UTF-16 without a BOM, 76 bytes; followed by a lone surrogate, it is not valid UTF-16.
UTF16 = "name,city\nRefuge,Montréal\nAbri,Québec\n".encode("utf-16-le")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (TEXT.encode("utf-8"), CsvFormat("utf-8", ",")),
        (b"\xef\xbb\xbf" + TEXT.replace(",", ";").encode("utf-8"), CsvFormat("utf-8-sig", ";")),
        (TEXT.replace(",", "\t").encode("cp1252"), CsvFormat("cp1252", "\t")),
        (TEXT.replace("’", "'").encode("latin-1") + b"3,\x81,X\n", CsvFormat("latin-1", ",")),
        (TEXT.replace(",", "|").encode("utf-16"), CsvFormat("utf-16", "|")),
        (TEXT.encode("utf-16-be"), CsvFormat("utf-16-be", ",")),
        (b"name\nA\n", CsvFormat("utf-8", ",")),
    ],
)
def test_csv_format_finds_the_encoding_and_the_delimiter(data, expected):
    handle = io.BytesIO(data)
    assert csv_format("listings.csv", handle) == expected
    assert handle.tell() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bytes(range(256)) * 40, "is not a text (CSV) file"),
        (UTF16 + b"\x01\xd8B\x00\n\x00", "is not valid utf-16-le text (byte 76)"),
    ],
)
def test_bytes_that_are_not_text_are_one_error(data, message):
    with pytest.raises(UnreadableFile) as raised:
        csv_format("listings.csv", io.BytesIO(data))
    assert str(raised.value) == f"listings.csv {message}"
    assert isinstance(raised.value, ValueError)


def test_the_core_reader_imports_nothing_from_etl():
    code = (
        "import sys, caremap.tabular, caremap.coverage.io; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'etl'))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert output == "[]"
