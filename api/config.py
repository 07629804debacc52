"""Service settings, read from environment variables prefixed with SKINKB_."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKINKB_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./skinkb.db"
    # Above the threadpool size (40), so a sync handler never waits on the pool.
    db_pool_size: int = 20
    db_max_overflow: int = 30
    db_echo: bool = False
    page_size_default: int = 20
    page_size_max: int = 100
    public_base_url: str = ""


settings = Settings()
