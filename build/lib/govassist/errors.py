"""Domain errors. Each message says what went wrong and what to do next; the CLI prints it on one line."""


class GovassistError(Exception):
    """Base for every error govassist reports to a person."""


class ConfigError(GovassistError):
    """A setting or the catalog is invalid."""


class LoadError(GovassistError):
    """A file could not be turned into text. The message names the file and the reason."""


class IndexMissingError(GovassistError):
    """No index has been built yet."""


class IndexMismatchError(GovassistError):
    """The index was built with another embedder or chunker than the settings ask for."""


class BuildLockedError(GovassistError):
    """Another build holds the lock."""


class QueryError(GovassistError):
    """A question or search request is out of bounds (empty, too long, k out of range)."""


class FetchError(GovassistError):
    """A corpus file could not be brought in."""


class LLMError(GovassistError):
    """The optional LLM backend failed or answered outside its contract."""


class EvalError(GovassistError):
    """The evaluation question set or an evaluation request is invalid, or a regression gate failed."""


class DiskFullError(GovassistError):
    """A write failed for lack of space. The message names the path and what to free."""
