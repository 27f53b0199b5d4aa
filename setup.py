"""Builds the optional compiled twins of the per-record checks (Cython, see
registry/engine/_records.pyx and plugins/irc6103/_address.pyx). They only speed up what
the Python code already decides; where no C compiler is at hand the build skips them
with a warning and the package works the same, slower. Everything else is in
pyproject.toml."""

from setuptools import Extension, setup

try:
    from Cython.Build import cythonize
except ImportError:  # installing from a source tree without Cython: pure Python
    extensions = []
else:
    extensions = cythonize(
        [
            Extension("registry.engine._records", ["registry/engine/_records.pyx"], optional=True),
            Extension(
                "registry_plugins.irc6103._address", ["plugins/irc6103/_address.pyx"], optional=True
            ),
        ],
        compiler_directives={"language_level": "3"},
        quiet=True,
    )

setup(ext_modules=extensions)
