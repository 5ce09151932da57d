"""Mitogen's linear strategy, for the molecule runs only (.config/molecule/config.yml sets
ANSIBLE_STRATEGY=mitogen_linear and connects with the short name ``docker``, which Mitogen takes
over). Mitogen keeps one Python interpreter per container for the whole run instead of starting
one per task: the same modules, about a third less time per playbook run (the README's Timings).
Production runs use Ansible's own linear strategy over SSH; nothing in the roles depends on it.

A proxy, as Mitogen's own plugin file is: the strategy is imported under its real name."""

from __future__ import annotations

import ansible_mitogen.loaders  # it checks the Ansible version first
import ansible_mitogen.strategy

Base = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, Base):  # type: ignore[misc,valid-type]
    """Ansible's linear strategy, its connections and module runs through Mitogen; plays on the
    controller itself (``connection: local``: molecule's create and destroy, whose containers
    are polled with ``async_status``, which did not find Mitogen's jobs) run as Ansible runs them."""

    def run(self, iterator: object, play_context: object, result: int = 0) -> object:
        play = getattr(iterator, "_play", None)
        if getattr(play, "connection", None) in ("local", "ansible.builtin.local"):
            return Base.run(self, iterator, play_context)
        return super().run(iterator, play_context, result)
