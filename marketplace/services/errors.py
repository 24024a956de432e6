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


class Collect:
    """Run several checks and refuse once with every problem found (``InvalidForm``), so a form shows all its
    errors on the first submit instead of one per submit. The first message per field is kept.

        checks = Collect()
        siret = checks.run(identifiers.validate_siret, data.siret)
        ...
        checks.done()  # raises InvalidForm when anything failed
    """

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def run(self, check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except InvalidForm as error:
            for name, message in error.errors.items():
                self.errors.setdefault(name or "", message)
        except DomainError as error:
            self.errors.setdefault(error.field or "", error.message)
        return None

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    def done(self) -> None:
        if self.errors:
            raise InvalidForm(dict(self.errors))
