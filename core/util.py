"""Small helpers shared by the core's modules."""
import contextlib
import gc

from jinja2 import BytecodeCache


def int_ids(values):
    """Record ids from a form or a URL, as integers; anything else is dropped.

    Ids arrive as text, and PostgreSQL will not compare an integer column with text."""
    return [int(value) for value in values if str(value).strip().isdigit()]


@contextlib.contextmanager
def collector_paused():
    """Python's cycle collector off for work that makes millions of objects that are not
    garbage yet (a long PDF, an import of 100,000 rows): each collection they trigger
    walks the whole heap again, a sixth of a long quote's time, seconds of an import.
    Reference counting frees nearly all of them anyway; what is left goes at the next
    collection after this."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def folded(text):
    """``text`` as compared with what a person may have typed: runs of spaces as one,
    no case (a column header, a choice's label in a cell)."""
    return " ".join(str(text).split()).casefold()


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled code of each template file, kept in memory by the file's path
    and the checksum of its text: a changed file, or one a consultant puts in a folder
    that comes first, is compiled anew. One instance serves environments configured
    alike (compiled code depends on the environment's options)."""

    def __init__(self, max_files=256):
        self.max_files = max_files
        self.codes = {}

    def load_bytecode(self, bucket):
        checksum, code = self.codes.get(bucket.key, (None, None))
        if checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket):
        if len(self.codes) >= self.max_files:
            self.codes.clear()
        self.codes[bucket.key] = (bucket.checksum, bucket.code)
