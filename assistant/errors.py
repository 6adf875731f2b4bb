"""Errors a user can act on; the CLI and UI show their message, never a traceback."""


class AssistantError(Exception):
    """Base class: the message says what went wrong and how to fix it."""


class InputError(AssistantError):
    """A file, article or question that cannot be used as given."""


class IndexMismatchError(AssistantError):
    """The index on disk was built with another model, encoder or chunking settings."""


class IndexLockedError(AssistantError):
    """Another process is writing this index."""


class WriteConflictError(IndexLockedError):
    """Another writer published while this one wrote (its lock file was removed): this write was not published."""


class ModelMissingError(AssistantError):
    """The packaged embedding model is not installed."""


class IndexMissingError(AssistantError):
    """No index at the folder, and the caller asked not to create one (every CLI command but `index`)."""


class IndexDamagedError(IndexMismatchError):
    """Index files are missing, truncated or unreadable (an `IndexMismatchError` for older callers)."""


class IndexReadOnlyError(AssistantError):
    """The index folder cannot be written (a read-only mount or permissions): it can be searched, not changed."""
