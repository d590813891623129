"""Errors the services raise for bad input. `code` is a key of the i18n catalogs."""


class ServiceError(Exception):
    """A rule was broken; nothing was changed. `code` names the message shown to the user."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class NotAllowed(ServiceError):
    """The caller may not see or change this record."""

    def __init__(self, code: str = "error.not_allowed", **params: object) -> None:
        super().__init__(code, **params)


class FormErrors(ServiceError):
    """Several fields of one form broke a rule; nothing was changed. `errors` maps each field to its error."""

    def __init__(self, errors: dict[str, ServiceError]) -> None:
        super().__init__("error.form")
        self.errors = errors
