"""Search-space hooks of the toy app (hydra.sweeper.custom_search_space=hooks.<name>)."""


def conditional(cfg, trial) -> None:
    """momentum only where opt=sgd: a conditional parameter the declared grammar cannot say."""
    opt = trial.suggest_categorical("opt", ["sgd", "adam"])
    if opt == "sgd":
        trial.suggest_float("momentum", 0.0, 0.9)
