import pytest

from dojo.config import DEFAULT_SERVER, ClientConfig, ConfigError


def test_from_env_reads_the_variables() -> None:
    config = ClientConfig.from_env(
        {"DOJO_SERVER": "h:1", "DOJO_API_KEY": " k ", "DOJO_TIMEOUT": "2.5"}
    )
    assert config == ClientConfig(server="h:1", api_key="k", timeout=2.5)


def test_defaults_and_overrides() -> None:
    config = ClientConfig.from_env({}, api_key="x", server=None)
    assert config.server == DEFAULT_SERVER and config.api_key == "x" and config.timeout == 30


@pytest.mark.parametrize("raw", ["soon", "0", "-1"])
def test_bad_timeout_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="DOJO_TIMEOUT"):
        ClientConfig.from_env({"DOJO_TIMEOUT": raw})


def test_retry_wait_from_the_environment_zero_allowed() -> None:
    assert ClientConfig.from_env({}).retry_wait == 30
    assert ClientConfig.from_env({"DOJO_RETRY_WAIT": "0"}).retry_wait == 0
    assert ClientConfig.from_env({"DOJO_RETRY_WAIT": "120"}).retry_wait == 120


@pytest.mark.parametrize("raw", ["later", "-1"])
def test_bad_retry_wait_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="DOJO_RETRY_WAIT"):
        ClientConfig.from_env({"DOJO_RETRY_WAIT": raw})
