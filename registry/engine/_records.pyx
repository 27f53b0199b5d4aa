# cython: language_level=3, boundscheck=False, wraparound=False
"""Compiled twins of the per-record fast paths in recordcheck.py and checking.py.

``unclear`` only picks out the records that are certainly clean; everything else goes back
to the Python code, which decides exactly and names what is wrong. So a record it passes is
one the Python fast path passes too. ``add_people`` and ``hash_people`` do what
SubjectSpool's loops do, with the same keys and hashes. tests/engine/test_compiled.py
checks both on generated records and identifiers. Built by setup.py when a C compiler is at
hand; without it the Python code does all the work, with the same results.
"""

from cpython.dict cimport PyDict_GetItemWithError, PyDict_Next
from cpython.long cimport PyLong_FromLongLong
from cpython.object cimport PyObject
from cpython.set cimport PySet_Add

cdef extern from "Python.h":
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch)

cdef object _ABSENT = object()


cdef inline bint _blank(str text) noexcept:
    cdef Py_UCS4 ch
    for ch in text:
        if not Py_UNICODE_ISSPACE(ch):
            return False
    return True


cdef inline bint _ascii_digits(str text) noexcept:
    cdef Py_UCS4 ch
    if len(text) == 0:
        return False
    for ch in text:
        if ch < 48 or ch > 57:
            return False
    return True


cdef inline object _at(object value, tuple parts):
    """The value at ``parts`` through plain dicts, or _ABSENT."""
    cdef PyObject* found
    for part in parts:
        if type(value) is not dict:
            return _ABSENT
        found = PyDict_GetItemWithError(value, part)
        if found is NULL:
            return _ABSENT
        value = <object>found
    return value


cdef inline bint _present(object value):
    """Certainly not missing (recordcheck.py's rule); False when missing or unusual."""
    if value is None or value is False:
        return False
    cdef type kind = type(value)
    if kind is str:
        return not _blank(<str>value)
    if kind is dict or kind is list or kind is tuple:
        return len(value) > 0
    return value is True or kind is int or kind is float


cdef bint _covered(dict table, dict tree) except -1:
    """Every key of ``table`` in ``tree`` (None nodes excluded), recursively where the node
    is a dict: the generated check's ``keys() <=`` tests."""
    cdef Py_ssize_t position = 0
    cdef PyObject* key
    cdef PyObject* value
    cdef PyObject* node
    while PyDict_Next(table, &position, &key, &value):
        node = PyDict_GetItemWithError(tree, <object>key)
        if node is NULL or <object>node is None:
            return False
        if <object>node is True:
            continue
        if type(<object>value) is not dict or len(<dict>value) == 0:
            return False
        if not _covered(<dict>value, <dict>node):
            return False
    return True


cdef bint _clean(object record, tuple required, Py_ssize_t subject, dict tree) except -1:
    if type(record) is not dict:
        return False
    cdef Py_ssize_t number
    cdef object value
    for number in range(len(required)):
        value = _at(record, <tuple>required[number])
        if value is _ABSENT or not _present(value):
            return False
        if number == subject and not (type(value) is str and _ascii_digits(<str>value)):
            return False
    return _covered(<dict>record, tree)


def unclear(records, tuple required, Py_ssize_t subject, dict tree):
    """Offsets of the records that are not certainly clean. ``required`` holds each
    required field's parts, ``subject`` the index of the subject key among them (-1 if
    none), ``tree`` the compiled field tree (fieldtree.build)."""
    cdef list rows = records if type(records) is list else list(records)
    cdef list out = []
    cdef Py_ssize_t offset
    for offset in range(len(rows)):
        if not _clean(rows[offset], required, subject, tree):
            out.append(offset)
    return out


cdef inline object _packed(str text):
    """Up to 18 ASCII digits as the number "1" followed by them; None otherwise."""
    cdef long long number = 1
    cdef Py_UCS4 ch
    if len(text) > 18 or not _ascii_digits(text):
        return None
    for ch in text:
        number = number * 10 + (<long long>ch - 48)
    return PyLong_FromLongLong(number)


def add_people(records, tuple parts, set people, normalise):
    """Each record's identifier at ``parts`` into ``people``: SubjectSpool.add's loop with
    checking._person's keys (its twin; tests/engine/test_compiled.py compares them)."""
    cdef object value
    cdef object key
    for record in records:
        value = _at(record, parts)
        if value is _ABSENT:  # absent, or reached through a dict subclass: the Python rule
            value = record
            for part in parts:
                value = value.get(part) if isinstance(value, dict) else None
        key = _packed(<str>value) if type(value) is str else None
        if key is None:
            value = normalise(value)
            key = _packed(<str>value) if type(value) is str else None
            if key is None:
                key = value
        PySet_Add(people, key)


def hash_people(list people, keyed):
    """In place, each of SubjectSpool's keys replaced by the keyed hash of its identifier
    (``keyed``: a keyed BLAKE2b, copied for each): SubjectSpool.subjects' loop."""
    cdef Py_ssize_t index
    cdef object value
    copy = keyed.copy
    for index in range(len(people)):
        value = people[index]
        hasher = copy()
        hasher.update((str(value)[1:] if type(value) is int else <str>value).encode())
        people[index] = hasher.digest()
