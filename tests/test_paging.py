"""A long list taken in chunks: ids in SQL IN lists, records inserted at once."""

import itertools

from caremap.paging import ID_CHUNK, chunks


def test_chunks_of_a_list():
    assert list(chunks(["a", "b", "c", "d", "e", "f", "g"], 3)) == [
        ["a", "b", "c"],
        ["d", "e", "f"],
        ["g"],
    ]
    assert list(chunks(["a", "b"], 2)) == [["a", "b"]]
    assert list(chunks([], 500)) == []


def test_ids_for_an_in_list_are_at_most_500_at_a_time():
    ids = [f"svc-{n:04d}" for n in range(1_001)]
    taken = list(chunks(ids, ID_CHUNK))
    assert [len(chunk) for chunk in taken] == [500, 500, 1]
    assert taken[1][0] == "svc-0500"
    assert list(itertools.chain.from_iterable(taken)) == ids


def test_chunks_take_from_an_iterable_only_as_needed():
    taken = []

    def records():
        for n in range(10):
            taken.append(n)
            yield n

    stream = chunks(records(), 4)
    assert next(stream) == [0, 1, 2, 3]
    assert taken == [0, 1, 2, 3]
    assert list(stream) == [[4, 5, 6, 7], [8, 9]]
    assert taken == list(range(10))
