# cython: language_level=3, boundscheck=False, wraparound=False
"""The compiled twin of address.py's fast path: which records' addresses are certainly
complete. Anything else goes back to ``is_complete``, which decides exactly, so an address
this module passes is one ``is_complete`` passes too (tests/plugins/test_compiled_address.py
checks that on generated addresses). Built by setup.py when a C compiler is at hand."""

from cpython.dict cimport PyDict_GetItemWithError
from cpython.object cimport PyObject
from cpython.set cimport PySet_Contains

cdef extern from "Python.h":
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch)


cdef inline str _text(dict table, str key):
    cdef PyObject* found = PyDict_GetItemWithError(table, key)
    if found is NULL or type(<object>found) is not str:
        return None
    return <str>found


cdef inline bint _remembered(dict memo, str text) except -1:
    cdef PyObject* found = PyDict_GetItemWithError(memo, text)
    return found is not NULL and <object>found is True


cdef bint _complete(object value, frozenset states, dict cities, dict names) except -1:
    """A street line "<ASCII digits> <name>" with no space around it, a city and a street
    name already judged good (the memos), a state as listed, a five-digit ZIP."""
    if type(value) is not dict:
        return False
    cdef str street = _text(<dict>value, "street")
    cdef str zip_code = _text(<dict>value, "zip")
    cdef str city = _text(<dict>value, "city")
    cdef str state = _text(<dict>value, "state")
    if street is None or zip_code is None or city is None or state is None:
        return False
    if PySet_Contains(states, state) != 1 or len(zip_code) != 5:
        return False
    cdef Py_UCS4 ch
    for ch in zip_code:
        if ch < 48 or ch > 57:
            return False
    if not _remembered(cities, city):
        return False
    cdef Py_ssize_t size = len(street), at = 0
    if size == 0 or Py_UNICODE_ISSPACE(street[0]) or Py_UNICODE_ISSPACE(street[size - 1]):
        return False
    while at < size and 48 <= street[at] <= 57:
        at += 1
    if at == 0 or at == size or not Py_UNICODE_ISSPACE(street[at]):
        return False
    while Py_UNICODE_ISSPACE(street[at]):
        at += 1
    return _remembered(names, street[at:])


def unclear(records, tuple parts, frozenset states, dict cities, dict names):
    """Offsets of the records whose address (at ``parts``, through plain dicts) is not
    certainly complete."""
    cdef list rows = records if type(records) is list else list(records)
    cdef list out = []
    cdef Py_ssize_t offset
    cdef object value
    cdef PyObject* found
    for offset in range(len(rows)):
        value = rows[offset]
        for part in parts:
            if type(value) is not dict:
                value = None
                break
            found = PyDict_GetItemWithError(value, part)
            value = <object>found if found is not NULL else None
        if not _complete(value, states, cities, names):
            out.append(offset)
    return out
