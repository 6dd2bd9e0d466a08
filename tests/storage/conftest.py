from tests.storage.motoserver import moto, moto_session

__all__ = ["moto", "moto_session"]
