"""Rasa's predict graph run in order, in the calling thread, without dask's scheduler.

Rasa 3.6 runs every message's NLU pipeline and every policy prediction through
``DaskGraphRunner``: for each run it rebuilds the minimal sub-graph for the targets,
formats all inputs into a debug string (even when debug logging is off), and hands the
graph to ``dask.get``, which orders and schedules ~10 nodes with its generic
machinery. All of that is a few ms per message on our 2-core machine, spent to run a
chain of nodes that always runs in the same order, one after another, in one thread.

``SequentialGraphRunner`` keeps Rasa's nodes and schema untouched (the same
``GraphNode`` objects, hooks and error wrapping) and only replaces the scheduler: the
execution order for each set of targets is worked out once (parents before children)
and then replayed. Outputs are the same; ``tests/test_rasa_runtime.py`` runs both
runners on the same model and messages and compares them. Training keeps dask.
"""
from __future__ import annotations

from graphlib import TopologicalSorter
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner


class SequentialGraphRunner(DaskGraphRunner):
    """A ``DaskGraphRunner`` whose ``run`` walks a cached topological order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._orders: Dict[Tuple[Text, ...], List[Tuple[Text, Tuple[Text, ...]]]] = {}

    def _order(self, targets: Tuple[Text, ...]) -> List[Tuple[Text, Tuple[Text, ...]]]:
        """(node, names of the nodes or inputs it needs) for every node the targets
        depend on, each after all of its parents."""
        order = self._orders.get(targets)
        if order is None:
            nodes = self._graph_schema.minimal_graph_schema(list(targets)).nodes
            parents = {name: [n for n in node.needs.values() if n in nodes]  # inputs are not nodes
                       for name, node in nodes.items()}
            order = [(name, tuple(nodes[name].needs.values()))
                     for name in TopologicalSorter(parents).static_order()]
            self._orders[targets] = order
        return order

    def run(self, inputs: Optional[Dict[Text, Any]] = None,
            targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
        """Runs the graph (see ``GraphRunner.run``); same inputs, outputs and errors."""
        run_targets = tuple(targets if targets else self._graph_schema.target_names)
        order = self._order(run_targets)
        results: Dict[Text, Any] = dict.fromkeys(name for name, _ in order)
        self._add_inputs_to_graph(inputs, results)  # dask's own check that no input shadows a node
        try:
            for name, needs in order:
                # a need nobody provides is passed as its bare name, as dask does;
                # GraphNode then reports the missing input
                results[name] = self._instantiated_nodes[name](*(results.get(n, n) for n in needs))
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e
        return dict(results[t] for t in run_targets)
