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
