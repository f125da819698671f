"""``python -m reason2decide.cli``: the ``r2d`` command, for launchers that start Python modules
(``torchrun -m``, ``accelerate launch -m``)."""

from reason2decide.cli import main

if __name__ == "__main__":
    main()
