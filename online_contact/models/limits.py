"""Counters of the throttles when there is no Redis (services.limits)."""

from sqlmodel import Field, SQLModel


class RateCounter(SQLModel, table=True):
    """Attempts of one subject (a hashed IP address or account) in the current window of a limit."""

    key: str = Field(primary_key=True, max_length=128)
    period: int  # which window of the limit (time // its length)
    count: int
    expires: int = Field(index=True)  # when the window ends (epoch seconds): pruned after
