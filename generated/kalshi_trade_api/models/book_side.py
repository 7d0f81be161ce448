from enum import StrEnum


class BookSide(StrEnum):
    ASK = "ask"
    BID = "bid"

    def __str__(self) -> str:
        return str(self.value)
