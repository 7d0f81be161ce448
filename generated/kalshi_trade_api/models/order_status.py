from enum import StrEnum


class OrderStatus(StrEnum):
    CANCELED = "canceled"
    EXECUTED = "executed"
    RESTING = "resting"

    def __str__(self) -> str:
        return str(self.value)
