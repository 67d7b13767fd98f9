"""How Rasa runs here: the launcher with the project's runtime fixes (launch.py), the
sequential graph runner, the cached SQL tracker store, the atomic Redis lock store of
several instances (lock_store.py) and the trained model (model.py:
its path, and training only when an input changed). The NLU components that a model is
trained with live in bot/nlu/."""
