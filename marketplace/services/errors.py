"""Domain errors: a service refuses with a message the user can read (in French)."""


class DomainError(Exception):
    """A business rule refused the operation; ``message`` is shown to the user as is."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidIdentifier(DomainError):
    """A SIRET, NDA, IDCC, APE or Qualiopi value is malformed."""


class NotFound(DomainError):
    """The object does not exist for this organisation (answered as 404)."""


class InvalidForm(DomainError):
    """Several fields are wrong at once; ``errors`` maps field name → French message (shown all together).

    The first error is also the exception's own message and field, for callers that show only one.
    """

    def __init__(self, errors: dict[str, str]):
        field_name, message = next(iter(errors.items()))
        super().__init__(message, field=field_name)
        self.errors = errors
